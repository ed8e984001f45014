import type { Redis } from 'ioredis';
import type { ConnectionSlots } from '../connection-slots';

/** A place lives this long unless its node renews it: a crashed node's connections free their places. */
const HOLD_MS = 60_000;
const RENEW_EVERY_MS = 20_000;

// KEYS[1] = places (zset: holder -> expiry, ms). ARGV[1] = holder, ARGV[2] = limit, ARGV[3] = hold (ms).
// Returns 1 when the holder has a place (taken now or before), 0 when every place is taken.
const CLAIM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
`;
/** Defined once per client (EVAL on first use per connection, EVALSHA after). */
const CLAIM_COMMAND = 'parleySlotClaim';

type ClaimCommand = (key: string, holder: string, limit: number, holdMs: number) => Promise<number>;

/**
 * Connection caps shared by every gateway node: per key a sorted set of holders, each expiring unless the node
 * that holds it renews it (so a crashed node's places come free by themselves). A claim is one atomic script:
 * two nodes admitting the same user at once never both take the last place.
 */
export class RedisConnectionSlots implements ConnectionSlots {
  /** Places held by this node's connections: key -> holders, renewed periodically. */
  private readonly local = new Map<string, Set<string>>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!(CLAIM_COMMAND in redis)) redis.defineCommand(CLAIM_COMMAND, { numberOfKeys: 1, lua: CLAIM });
    this.timer = setInterval(() => void this.renew(), RENEW_EVERY_MS);
    this.timer.unref();
  }

  async claim(key: string, holder: string, limit: number): Promise<boolean> {
    const claim = (this.redis as unknown as Record<string, ClaimCommand>)[CLAIM_COMMAND];
    const taken = (await claim.call(this.redis, this.key(key), holder, limit, HOLD_MS)) === 1;
    if (taken) {
      let holders = this.local.get(key);
      if (!holders) this.local.set(key, (holders = new Set()));
      holders.add(holder);
    }
    return taken;
  }

  release(key: string, holder: string): void {
    const holders = this.local.get(key);
    if (!holders?.delete(holder)) return;
    if (holders.size === 0) this.local.delete(key);
    // Redis down: the place expires with its hold instead.
    this.redis.zrem(this.key(key), holder).catch(() => undefined);
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async renew(): Promise<void> {
    if (this.local.size === 0) return;
    const expiry = Date.now() + HOLD_MS;
    const pipeline = this.redis.pipeline();
    for (const [key, holders] of this.local) {
      for (const holder of holders) pipeline.zadd(this.key(key), 'XX', expiry, holder);
      pipeline.pexpire(this.key(key), HOLD_MS * 2);
    }
    await pipeline.exec().catch(() => undefined); // Redis down: the next round renews
  }

  private key(key: string): string {
    return `${this.prefix}slot:${key}`;
  }
}
