import { Controller, Delete, Get, HttpCode, Param, Patch, Post, UseGuards } from '@nestjs/common';
import type { MessageDto } from '@parley/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimit, RateLimitGuard, ValidBody, ValidQuery } from '@parley/http';
import type { z } from 'zod';
import * as s from '../schemas';

type In<T extends z.ZodType> = z.infer<T>;

import { MessageService } from '../messages.service';
import { AuditReason } from '../moderation/audit-reason';

/** A channel's messages, and typing in it. */
@Controller('api/v1/channels/:channel_id')
@UseGuards(AuthGuard, RateLimitGuard)
export class MessagesController {
  constructor(private readonly messages: MessageService) {}

  @Get('messages')
  history(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidQuery(s.historyQuery) q: In<typeof s.historyQuery>,
  ): Promise<MessageDto[]> {
    return this.messages.history(channelId, c.userId, q);
  }

  @Post('messages')
  @HttpCode(200)
  @RateLimit('messages.create', 'channel_id')
  send(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidBody(s.messageCreateBody) body: In<typeof s.messageCreateBody>,
  ): Promise<MessageDto> {
    return this.messages.create(channelId, c.userId, body);
  }

  @Post('messages/bulk-delete')
  @HttpCode(204)
  bulkDelete(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidBody(s.messageBulkDeleteBody) body: In<typeof s.messageBulkDeleteBody>,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    return this.messages.bulkDelete(channelId, c.userId, body.messages, reason);
  }

  @Get('messages/:message_id')
  get(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
  ): Promise<MessageDto> {
    return this.messages.get(channelId, c.userId, messageId);
  }

  @Patch('messages/:message_id')
  edit(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
    @ValidBody(s.messagePatchBody) body: In<typeof s.messagePatchBody>,
  ): Promise<MessageDto> {
    return this.messages.edit(channelId, c.userId, messageId, body);
  }

  @Delete('messages/:message_id')
  @HttpCode(204)
  delete(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
    @AuditReason() reason: string | null,
  ): Promise<void> {
    return this.messages.delete(channelId, c.userId, messageId, reason);
  }

  @Post('typing')
  @HttpCode(204)
  @RateLimit('messages.typing', 'channel_id')
  typing(@Caller() c: AuthContext, @Param('channel_id') channelId: string): Promise<void> {
    return this.messages.typing(channelId, c.userId);
  }
}
