import { Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import type { InviteDto } from '@parley/common';
import { AuthGuard, Caller, Public } from '@parley/auth';
import { type AuthContext, RateLimit, RateLimitGuard, ValidBody } from '@parley/http';
import type { z } from 'zod';
import * as s from '../schemas';

type In<T extends z.ZodType> = z.infer<T>;

import { InviteService } from '../invites.service';
import { AuditReason } from '../moderation/audit-reason';

/** Invites: created on a channel, listed per guild, previewed, accepted and revoked by code. */
@Controller('api/v1')
@UseGuards(AuthGuard, RateLimitGuard)
export class InvitesController {
  constructor(private readonly invites: InviteService) {}

  @Post('channels/:channel_id/invites')
  @HttpCode(201)
  create(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidBody(s.inviteCreateBody) body: In<typeof s.inviteCreateBody>,
    @AuditReason() reason: string | null,
  ): Promise<InviteDto> {
    return this.invites.create(
      channelId,
      c.userId,
      {
        max_age: body?.max_age ?? 86_400,
        max_uses: body?.max_uses ?? 0,
      },
      reason,
    );
  }

  @Get('guilds/:guild_id/invites')
  listForGuild(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<InviteDto[]> {
    return this.invites.listForGuild(guildId, c.userId);
  }

  @Get('invites/:code')
  @Public()
  get(@Param('code') code: string): Promise<InviteDto> {
    return this.invites.get(code);
  }

  @Post('invites/:code')
  @HttpCode(200)
  @RateLimit('invites.join')
  accept(@Caller() c: AuthContext, @Param('code') code: string): Promise<InviteDto> {
    return this.invites.accept(code, c.userId);
  }

  @Delete('invites/:code')
  delete(
    @Caller() c: AuthContext,
    @Param('code') code: string,
    @AuditReason() reason: string | null,
  ): Promise<InviteDto> {
    return this.invites.delete(code, c.userId, reason);
  }
}
