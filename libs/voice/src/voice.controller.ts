import { Controller, Headers, HttpCode, Param, Post, Req, UseGuards } from '@nestjs/common';
import { BadRequestError } from '@parley/common';
import { AuthGuard, Caller, Public } from '@parley/auth';
import { type AuthContext, RateLimit, RateLimitGuard } from '@parley/http';
import type { FastifyRequest } from 'fastify';
import { type VoiceJoinDto, VoiceService } from './voice.service';

@Controller('api/v1')
@UseGuards(AuthGuard, RateLimitGuard)
export class VoiceController {
  constructor(private readonly voice: VoiceService) {}

  @Post('channels/:channel_id/voice/join')
  @HttpCode(200)
  @RateLimit('voice.join')
  join(@Caller() c: AuthContext, @Param('channel_id') channelId: string): Promise<VoiceJoinDto> {
    return this.voice.join(channelId, c.userId);
  }

  /** Called by the LiveKit server (webhook URL in its config); authenticated by its signature. */
  @Post('voice/livekit/webhook')
  @Public()
  @HttpCode(200)
  async webhook(
    @Req() request: FastifyRequest,
    @Headers('authorization') authorization: string | undefined,
  ): Promise<{ ok: true }> {
    if (typeof request.body !== 'string') throw new BadRequestError('Expected application/webhook+json');
    await this.voice.webhook(request.body, authorization);
    return { ok: true };
  }
}
