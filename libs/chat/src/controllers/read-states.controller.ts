import { Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import type { ReadStateDto } from '@parley/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimitGuard } from '@parley/http';
import { MessageService } from '../messages.service';

/** Read states: acknowledging a message, and the caller's read state per channel. */
@Controller('api/v1')
@UseGuards(AuthGuard, RateLimitGuard)
export class ReadStatesController {
  constructor(private readonly messages: MessageService) {}

  @Post('channels/:channel_id/messages/:message_id/ack')
  @HttpCode(204)
  ack(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
  ): Promise<void> {
    return this.messages.ack(channelId, c.userId, messageId);
  }

  @Get('users/@me/read-states')
  list(@Caller() c: AuthContext): Promise<ReadStateDto[]> {
    return this.messages.readStates(c.userId);
  }
}
