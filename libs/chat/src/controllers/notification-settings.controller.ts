import { Controller, Get, Param, Patch, UseGuards } from '@nestjs/common';
import type { UserGuildSettingsDto } from '@parley/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimitGuard, ValidBody } from '@parley/http';
import type { z } from 'zod';
import { NotificationSettingsService } from '../notification-settings.service';
import * as s from '../schemas';

/** The caller's notification settings per guild (Discord's user guild settings). */
@Controller('api/v1/users/@me/guilds/:guild_id/settings')
@UseGuards(AuthGuard, RateLimitGuard)
export class NotificationSettingsController {
  constructor(private readonly settings: NotificationSettingsService) {}

  @Get()
  get(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<UserGuildSettingsDto> {
    return this.settings.get(guildId, c.userId);
  }

  @Patch()
  update(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidBody(s.guildSettingsPatchBody) body: z.infer<typeof s.guildSettingsPatchBody>,
  ): Promise<UserGuildSettingsDto> {
    return this.settings.update(guildId, c.userId, body);
  }
}
