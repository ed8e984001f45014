import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RateLimitedError } from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { Metrics } from '@parley/observability';
import { RATE_LIMITER, type RateLimiter } from '@parley/state';
import type { FastifyReply } from 'fastify';
import type { ParleyRequest } from './request';

const RATE_LIMIT = 'parley:rate_limit';

export interface RateLimitOptions {
  /** Key in `rate_limits.routes`. */
  bucket: string;
  /** Route parameter that splits the bucket (e.g. one bucket per channel, as Discord does). */
  perParam?: string;
  /** One bucket for every caller (Discord's `shared` scope), e.g. a webhook's executes whoever sends them. */
  shared?: boolean;
}

export const RateLimit = (bucket: string, perParam?: string, extra: { shared?: boolean } = {}) =>
  SetMetadata(RATE_LIMIT, { bucket, perParam, ...extra } satisfies RateLimitOptions);

/**
 * Per-user (per-address before login, and always for auth.*) limits: a global bucket for every request and a route bucket where a
 * handler declares one. Runs after authentication so the user is known.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly metrics: Metrics,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const limits = this.config.rate_limits;
    if (!limits.enabled) return true;
    const request = context.switchToHttp().getRequest<ParleyRequest>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const options = this.reflector.get<RateLimitOptions | undefined>(RATE_LIMIT, context.getHandler());
    // auth.* (register, login) count per address whatever the request carries: a bearer header (any fresh
    // token) must not move a password guesser or an account factory into a bucket of its own.
    const byAddress = !request.auth || options?.bucket.startsWith('auth.') === true;
    const who = byAddress ? `ip${request.ip}` : `u${request.auth?.userId}`;

    const global = await this.limiter.consume(`global:${who}`, limits.global);
    if (!global.allowed) {
      this.metrics.rateLimited.inc({ bucket: 'global' });
      throw new RateLimitedError(global.resetAfterMs, global.limit, 'global', true);
    }

    const rule = options && limits.routes[options.bucket];
    if (!options || !rule) return true;
    const params = request.params as Record<string, string> | undefined;
    const split = options.perParam ? `:${params?.[options.perParam] ?? ''}` : '';
    const decision = await this.limiter.consume(
      `${options.bucket}${split}:${options.shared === true ? 'shared' : who}`,
      rule,
    );
    void reply.headers({
      'x-ratelimit-limit': String(decision.limit),
      'x-ratelimit-remaining': String(decision.remaining),
      'x-ratelimit-reset': ((Date.now() + decision.resetAfterMs) / 1000).toFixed(3),
      'x-ratelimit-reset-after': (decision.resetAfterMs / 1000).toFixed(3),
      'x-ratelimit-bucket': options.bucket,
      'x-ratelimit-scope': options.shared === true ? 'shared' : 'user',
    });
    if (!decision.allowed) {
      this.metrics.rateLimited.inc({ bucket: options.bucket });
      throw new RateLimitedError(decision.resetAfterMs, decision.limit, options.bucket);
    }
    return true;
  }
}
