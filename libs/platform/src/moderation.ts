import type { Provider } from '@nestjs/common';
import { MODERATION_SETTINGS, type ModerationSettings, SLOWMODE_GATE, type SlowmodeGate } from '@parley/chat';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { RATE_LIMITER, type RateLimiter } from '@parley/state';

const DAY_MS = 86_400_000;

/**
 * Slowmode over the instance's rate limiter: one send per `seconds` window per user and channel. The limiter is
 * memory in the monolith and Redis in microservices, so every api process of the instance sees the same clock.
 */
export class RateLimiterSlowmode implements SlowmodeGate {
  constructor(private readonly limiter: RateLimiter) {}

  async take(channelId: string, userId: string, seconds: number): Promise<number> {
    const decision = await this.limiter.consume(`slowmode:${channelId}:${userId}`, {
      limit: 1,
      window_ms: seconds * 1000,
    });
    return decision.allowed ? 0 : Math.max(1, decision.resetAfterMs);
  }
}

/** The moderation settings and the slowmode gate for @parley/chat, from config and the rate limiter. */
export const MODERATION_PROVIDERS: Provider[] = [
  {
    provide: MODERATION_SETTINGS,
    inject: [PARLEY_CONFIG],
    useFactory: (config: ParleyConfig): ModerationSettings => ({
      auditLogRetentionMs: config.moderation.audit_log_retention_days * DAY_MS,
    }),
  },
  {
    provide: SLOWMODE_GATE,
    // A role without a rate limiter (no Redis) sends no messages: it gets no gate.
    inject: [{ token: RATE_LIMITER, optional: true }],
    useFactory: (limiter?: RateLimiter): SlowmodeGate | null =>
      limiter ? new RateLimiterSlowmode(limiter) : null,
  },
];
