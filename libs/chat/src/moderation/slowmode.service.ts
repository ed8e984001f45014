import { Inject, Injectable, Optional } from '@nestjs/common';
import { Permission, PermissionCalculator, RateLimitedError } from '@parley/common';
import type { ChannelAccess } from '../access.service';
import { SLOWMODE_GATE, type SlowmodeGate } from './moderation.tokens';

/** Discord's slowmode error: 429 with code 20016 and `retry_after`. */
export const SLOWMODE_CODE = 20016;

/**
 * Channel slowmode (rate_limit_per_user): one message per user per that many seconds. Those who may
 * MANAGE_MESSAGES or MANAGE_CHANNELS in the channel are exempt, as in Discord. The channel's setting comes with
 * the cached channel record, so a channel without slowmode costs nothing; with it, one rate limiter call.
 */
@Injectable()
export class SlowmodeService {
  constructor(@Optional() @Inject(SLOWMODE_GATE) private readonly gate?: SlowmodeGate | null) {}

  async check(access: ChannelAccess, userId: string): Promise<void> {
    const seconds = access.channel.rateLimitPerUser ?? 0;
    if (seconds <= 0 || !access.guild || !this.gate) return;
    if (
      PermissionCalculator.has(access.permissions, Permission.MANAGE_MESSAGES) ||
      PermissionCalculator.has(access.permissions, Permission.MANAGE_CHANNELS)
    )
      return;
    const waitMs = await this.gate.take(access.channel.id, userId, seconds);
    if (waitMs > 0)
      throw new RateLimitedError(
        waitMs,
        1,
        `slowmode:${access.channel.id}`,
        false,
        SLOWMODE_CODE,
        'This action cannot be performed due to slowmode rate limit.',
      );
  }
}
