import { Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import type { GuildDto, GuildFullDto } from '@parley/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimit, RateLimitGuard, ValidBody } from '@parley/http';
import type { z } from 'zod';
import * as s from '../schemas';

type In<T extends z.ZodType> = z.infer<T>;

import { GuildService } from '../guilds.service';
import { MemberService } from '../members.service';
import { AuditReason } from '../moderation/audit-reason';

/** Guilds, and the caller's own guild list and leaving. */
@Controller('api/v1')
@UseGuards(AuthGuard, RateLimitGuard)
export class GuildsController {
  constructor(
    private readonly guilds: GuildService,
    private readonly members: MemberService,
  ) {}

  @Post('guilds')
  @HttpCode(201)
  @RateLimit('guilds.create')
  create(
    @Caller() c: AuthContext,
    @ValidBody(s.guildCreateBody) body: In<typeof s.guildCreateBody>,
  ): Promise<GuildFullDto> {
    return this.guilds.create(c.userId, body.name);
  }

  @Get('guilds/:guild_id')
  get(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<GuildFullDto> {
    return this.guilds.get(guildId, c.userId);
  }

  @Patch('guilds/:guild_id')
  update(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidBody(s.guildPatchBody) body: In<typeof s.guildPatchBody>,
    @AuditReason() reason: string | null,
  ): Promise<GuildDto> {
    return this.guilds.update(guildId, c.userId, body, reason);
  }

  @Delete('guilds/:guild_id')
  @HttpCode(204)
  delete(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<void> {
    return this.guilds.delete(guildId, c.userId);
  }

  @Get('users/@me/guilds')
  listMine(@Caller() c: AuthContext): Promise<GuildDto[]> {
    return this.guilds.listForUser(c.userId);
  }

  @Delete('users/@me/guilds/:guild_id')
  @HttpCode(204)
  leave(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<void> {
    return this.members.leave(guildId, c.userId);
  }
}
