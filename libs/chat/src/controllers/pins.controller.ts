import { Controller, Delete, Get, HttpCode, Param, Put, UseGuards } from '@nestjs/common';
import type { MessageDto } from '@parley/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimitGuard, ValidQuery } from '@parley/http';
import type { z } from 'zod';
import { type PinPage, PinService } from '../pins.service';
import * as s from '../schemas';

/**
 * A channel's pins in Discord's two forms: the older `/pins` and the newer `/messages/pins` (registered
 * before the messages controller, so `messages/pins` is never taken for a message id).
 */
@Controller('api/v1/channels/:channel_id')
@UseGuards(AuthGuard, RateLimitGuard)
export class PinsController {
  constructor(private readonly pins: PinService) {}

  @Get('pins')
  list(@Caller() c: AuthContext, @Param('channel_id') channelId: string): Promise<MessageDto[]> {
    return this.pins.list(channelId, c.userId);
  }

  @Get('messages/pins')
  page(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @ValidQuery(s.pinsQuery) q: z.infer<typeof s.pinsQuery>,
  ): Promise<PinPage> {
    return this.pins.page(channelId, c.userId, q);
  }

  @Put(['pins/:message_id', 'messages/pins/:message_id'])
  @HttpCode(204)
  pin(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
  ): Promise<void> {
    return this.pins.pin(channelId, c.userId, messageId);
  }

  @Delete(['pins/:message_id', 'messages/pins/:message_id'])
  @HttpCode(204)
  unpin(
    @Caller() c: AuthContext,
    @Param('channel_id') channelId: string,
    @Param('message_id') messageId: string,
  ): Promise<void> {
    return this.pins.unpin(channelId, c.userId, messageId);
  }
}
