import type { Redis } from 'ioredis';
import type { RateDecision, RateLimiter, RateRule } from '../rate-limiter';

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
  }

  async consume(key: string, rule: RateRule): Promise<RateDecision> {
    const consume = (this.redis as unknown as Record<string, ConsumeCommand>)[CONSUME_COMMAND];
    const [count, ttl] = await consume.call(this.redis, `${this.prefix}rl:${key}`, rule.window_ms);
    const resetAfterMs = Math.max(0, ttl);
    if (count > rule.limit) return { allowed: false, limit: rule.limit, remaining: 0, resetAfterMs };
    return { allowed: true, limit: rule.limit, remaining: rule.limit - count, resetAfterMs };
  }
}
