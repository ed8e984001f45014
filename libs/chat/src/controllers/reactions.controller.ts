import { Controller, Delete, Get, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import type { PublicUser } from '@parley/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimit, RateLimitGuard, ValidQuery } from '@parley/http';
import type { z } from 'zod';
import { emojiParam } from '../emoji';
import { MessageService } from '../messages.service';
import * as s from '../schemas';

type In<T extends z.ZodType> = z.infer<T>;

/** Reactions on a message (unicode emoji). */
@Controller('api/v1/channels/:channel_id/messages/:message_id/reactions/:emoji')
@UseGuards(AuthGuard, RateLimitGuard)
export class ReactionsController {
  constructor(private readonly messages: MessageService) {}

  @Put('@me')
  @HttpCode(204)
  @RateLimit('reactions.write', 'channel_id')
  react(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
    @Param('emoji') emoji: string,
  ): Promise<void> {
    return this.messages.react(channelId, c.userId, messageId, emojiParam(emoji));
  }

  @Delete('@me')
  @HttpCode(204)
  @RateLimit('reactions.write', 'channel_id')
  unreact(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
    @Param('emoji') emoji: string,
  ): Promise<void> {
    return this.messages.unreact(channelId, c.userId, messageId, emojiParam(emoji));
  }

  @Get()
  reactors(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
    @Param('emoji') emoji: string,
    @ValidQuery(s.reactorsQuery) q: In<typeof s.reactorsQuery>,
  ): Promise<PublicUser[]> {
    return this.messages.reactors(channelId, c.userId, messageId, emojiParam(emoji), q.limit, q.after);
  }
}
