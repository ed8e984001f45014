import { Controller, Get, Inject, Req, UseGuards } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { type ParleyRequest, RateLimitGuard } from '@parley/http';
import { AuthGuard, Public } from './auth.guard';

/** Where the Discord-protocol gateway listens on the process that holds the gateway role. */
export const DISCORD_GATEWAY_PATH = '/discord-gateway';

/** Discord's `GET /gateway` and `GET /gateway/bot`: where Discord client libraries connect. */
@Controller('api/v1/gateway')
@UseGuards(AuthGuard, RateLimitGuard)
export class GatewayInfoController {
  constructor(@Inject(PARLEY_CONFIG) private readonly config: ParleyConfig) {}

  @Get()
  @Public()
  gateway(@Req() request: ParleyRequest): { url: string } {
    return { url: this.url(request) };
  }

  /**
   * One shard is always enough (every Parley gateway node serves every guild); the session start limit is
   * advisory: clients pace IDENTIFYs by it, Parley's own admission limits (gateway.handshake_rate) apply.
   */
  @Get('bot')
  bot(@Req() request: ParleyRequest) {
    return {
      url: this.url(request),
      shards: 1,
      session_start_limit: { total: 1000, remaining: 1000, reset_after: 86_400_000, max_concurrency: 1 },
    };
  }

  private url(request: ParleyRequest): string {
    const configured = this.config.gateway.discord_url;
    if (configured) return configured;
    const scheme = request.protocol === 'https' ? 'wss' : 'ws';
    return `${scheme}://${request.host}${DISCORD_GATEWAY_PATH}`;
  }
}
