import { Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, UseGuards } from '@nestjs/common';
import type { ChannelDto } from '@parley/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimitGuard, ValidBody } from '@parley/http';
import type { z } from 'zod';
import * as s from '../schemas';

type In<T extends z.ZodType> = z.infer<T>;

import { ChannelService } from '../channels.service';
import { AuditReason } from '../moderation/audit-reason';

/** Guild channels and their permission overwrites. */
@Controller('api/v1')
@UseGuards(AuthGuard, RateLimitGuard)
export class ChannelsController {
  constructor(private readonly channels: ChannelService) {}

  @Get('guilds/:guild_id/channels')
  listForGuild(@Caller() c: AuthContext, @Param('guild_id') guildId: string): Promise<ChannelDto[]> {
    return this.channels.listGuildChannels(guildId, c.userId);
  }

  @Post('guilds/:guild_id/channels')
  @HttpCode(201)
  create(
    @Caller() c: AuthContext,
    @Param('guild_id') guildId: string,
    @ValidBody(s.channelCreateBody) body: In<typeof s.channelCreateBody>,
    @AuditReason() reason: string | null,
  ): Promise<ChannelDto> {
    return this.channels.create(guildId, c.userId, body, reason);
  }

  @Get('channels/:channel_id')
  get(@Caller() c: AuthContext, @Param('channel_id') channelId: string): Promise<ChannelDto> {
    return this.channels.get(channelId, c.userId);
  }

  @Patch('channels/:channel_id')
  update(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidBody(s.channelPatchBody) body: In<typeof s.channelPatchBody>,
    @AuditReason() reason: string | null,
  ): Promise<ChannelDto> {
    return this.channels.update(channelId, c.userId, body, reason);
  }

  @Delete('channels/:channel_id')
  delete(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @AuditReason() reason: string | null,
  ): Promise<ChannelDto> {
    return this.channels.delete(channelId, c.userId, reason);
  }

  @Put('channels/:channel_id/permissions/:overwrite_id')
  @HttpCode(204)
  putOverwrite(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('overwrite_id') overwriteId: string,
    @ValidBody(s.overwriteBody) body: In<typeof s.overwriteBody>,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    return this.channels.putOverwrite(channelId, c.userId, overwriteId, body, reason);
  }

  @Delete('channels/:channel_id/permissions/:overwrite_id')
  @HttpCode(204)
  deleteOverwrite(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('overwrite_id') overwriteId: string,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    return this.channels.deleteOverwrite(channelId, c.userId, overwriteId, reason);
  }
}
