import { Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import type { ChannelDto } from '@parley/common';
import { AuthGuard, Caller } from '@parley/auth';
import { type AuthContext, RateLimitGuard, ValidBody, ValidQuery } from '@parley/http';
import type { z } from 'zod';
import { ChannelService } from '../channels.service';
import * as s from '../schemas';

type In<T extends z.ZodType> = z.infer<T>;

/** The caller's direct-message channels. */
@Controller('api/v1/users/@me/channels')
@UseGuards(AuthGuard, RateLimitGuard)
export class DmsController {
  constructor(private readonly channels: ChannelService) {}

  @Get()
  list(
    @Caller() c: AuthContext,
    @ValidQuery(s.dmListQuery) q: In<typeof s.dmListQuery>,
  ): Promise<ChannelDto[]> {
    return this.channels.listDms(c.userId, { limit: q.limit, before: q.before });
  }

  @Post()
  @HttpCode(200)
  open(
    @Caller() c: AuthContext,
    @ValidBody(s.dmCreateBody) body: In<typeof s.dmCreateBody>,
  ): Promise<ChannelDto> {
    return this.channels.openDm(c.userId, body.recipient_id);
  }
}
