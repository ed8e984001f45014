import { Controller, Delete, Get, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import type { BanDto } from '@parley/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimitGuard, ValidBody, ValidQuery } from '@parley/http';
import type { z } from 'zod';
import * as s from '../schemas';

type In<T extends z.ZodType> = z.infer<T>;

import { BanService } from '../bans.service';
import { AuditReason } from '../moderation/audit-reason';

/** A guild's bans. */
@Controller('api/v1/guilds/:guild_id/bans')
@UseGuards(AuthGuard, RateLimitGuard)
export class BansController {
  constructor(private readonly bans: BanService) {}

  @Get()
  list(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidQuery(s.banListQuery) q: In<typeof s.banListQuery>,
  ): Promise<BanDto[]> {
    return this.bans.list(guildId, c.userId, { limit: q.limit, before: q.before, after: q.after });
  }

  @Get(':user_id')
  get(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
  ): Promise<BanDto> {
    return this.bans.get(guildId, c.userId, userId);
  }

  @Put(':user_id')
  @HttpCode(204)
  ban(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
    @ValidBody(s.banBody) body: In<typeof s.banBody>,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    // Discord takes the reason from X-Audit-Log-Reason; older clients sent it in the body.
    return this.bans.ban(guildId, c.userId, userId, reason ?? body?.reason ?? null);
  }

  @Delete(':user_id')
  @HttpCode(204)
  unban(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @Param('user_id') userId: string,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    return this.bans.unban(guildId, c.userId, userId, reason);
  }
}
