import type { Redis } from 'ioredis';
import {
  type LockoutPolicy,
  type RateDecision,
  type RateLimiter,
  type RateRule,
  lockoutMs,
} from '../rate-limiter';

// One round trip: count the hit, start the window on the first one, say how long the window has left.
const CONSUME = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;
/** Defined once per client (EVAL on first use per connection, EVALSHA after). */
const CONSUME_COMMAND = 'parleyRateConsume';

// Count a failure and keep the count for the reset window (extended past any lock it causes).
const FAIL = `
local count = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return count
`;
const FAIL_COMMAND = 'parleyLoginFailure';

type ConsumeCommand = (key: string, windowMs: number) => Promise<[number, number]>;

/**
 * The same fixed windows as the memory limiter, in Redis, so a limit holds across every api instance.
 * Each bucket is one key that expires with its window.
 */
export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!(CONSUME_COMMAND in redis)) redis.defineCommand(CONSUME_COMMAND, { numberOfKeys: 1, lua: CONSUME });
    if (!(FAIL_COMMAND in redis)) redis.defineCommand(FAIL_COMMAND, { numberOfKeys: 1, lua: FAIL });
  }

  async lockedFor(key: string): Promise<number> {
    return Math.max(0, await this.redis.pttl(`${this.prefix}lock:${key}`));
  }

  async recordFailure(key: string, policy: LockoutPolicy): Promise<number> {
    const fail = (this.redis as unknown as Record<string, (k: string, ms: number) => Promise<number>>)[
      FAIL_COMMAND
    ];
    // The count must outlive the longest lock, so the failure after a lock still doubles it.
    const count = await fail.call(this.redis, `${this.prefix}fail:${key}`, policy.reset_ms + policy.max_ms);
    const lock = lockoutMs(count, policy);
    if (lock > 0) await this.redis.set(`${this.prefix}lock:${key}`, '1', 'PX', lock);
    return lock;
  }

  async clearFailures(key: string): Promise<void> {
    await this.redis.del(`${this.prefix}fail:${key}`);
  }

  async consume(key: string, rule: RateRule): Promise<RateDecision> {
    const consume = (this.redis as unknown as Record<string, ConsumeCommand>)[CONSUME_COMMAND];
    const [count, ttl] = await consume.call(this.redis, `${this.prefix}rl:${key}`, rule.window_ms);
    const resetAfterMs = Math.max(0, ttl);
    if (count > rule.limit) return { allowed: false, limit: rule.limit, remaining: 0, resetAfterMs };
    return { allowed: true, limit: rule.limit, remaining: rule.limit - count, resetAfterMs };
  }
}
