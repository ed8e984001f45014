import { randomBytes } from 'node:crypto';
import { type ParleyConfig, maskCredentials } from '@parley/config';
import type { Redis } from 'ioredis';
import { RedisLink, ioredis } from './redis-link';

const NODE_IDS = 128;

// Renews while the key holds our token (1); takes it again if it expired meanwhile and nobody claimed it (2);
// 0: another process holds it now.
const RENEW = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * A snowflake node id claimed in Redis for as long as this process lives (`instance.claim_node_id`), so the
 * replicas of one Deployment, which share their configuration, never mint the same ids. The lease
 * (`instance.node_id_lease`) is renewed every sixth of its length. Ids are minted only while the last renewal
 * (timed from when it was sent, so it never looks fresher than Redis saw it) is less than half a lease old:
 * past that the key may expire and another process claim the id, so `mintable` gives a reason and the
 * generator answers 503 until a renewal succeeds again (it takes the id back if it expired unclaimed). A process
 * that finds its id taken by another stops rather than risk duplicate ids.
 */
export class NodeIdLease {
  private timer: NodeJS.Timeout | null = null;
  private renewing = false;
  private renewedAt: number;
  private readonly leaseMs: number;

  private constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly token: string,
    readonly nodeId: number,
    config: ParleyConfig,
    claimedAt: number,
    private readonly onLost: (reason: string) => void,
  ) {
    this.leaseMs = config.instance.node_id_lease;
    this.renewedAt = claimedAt;
  }

  static async claim(config: ParleyConfig, onLost: (reason: string) => void): Promise<NodeIdLease> {
    const redis = new (ioredis().Redis)(config.redis.url, {
      ...RedisLink.options(config),
      lazyConnect: true,
    });
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      throw new Error(
        `instance.claim_node_id: cannot reach Redis at ${maskCredentials(config.redis.url)}: ${(err as Error).message}`,
      );
    }
    const token = randomBytes(12).toString('base64url');
    const start = Math.floor(Math.random() * NODE_IDS);
    const leaseMs = config.instance.node_id_lease;
    for (let i = 0; i < NODE_IDS; i++) {
      const nodeId = (start + i) % NODE_IDS;
      const key = `${config.redis.key_prefix}node-id:${config.instance.region_id}:${nodeId}`;
      const sentAt = Date.now();
      if ((await redis.set(key, token, 'PX', leaseMs, 'NX')) === 'OK') {
        const lease = new NodeIdLease(redis, key, token, nodeId, config, sentAt, onLost);
        lease.timer = setInterval(() => void lease.renew(), Math.max(100, Math.floor(leaseMs / 6)));
        lease.timer.unref();
        return lease;
      }
    }
    redis.disconnect();
    throw new Error(
      `instance.claim_node_id: all ${NODE_IDS} node ids of region ${config.instance.region_id} are taken`,
    );
  }

  /** Null while ids may be minted; otherwise why not (the renewal is overdue). */
  mintable(): string | null {
    if (Date.now() - this.renewedAt < this.leaseMs / 2) return null;
    return `Cannot create anything right now: the lease on node id ${this.nodeId} could not be renewed in Redis; try again shortly`;
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.redis.eval(RELEASE, 1, this.key, this.token).catch(() => undefined);
    this.redis.disconnect();
  }

  private async renew(): Promise<void> {
    if (this.renewing) return; // one renewal at a time: a slow one must not be overtaken
    this.renewing = true;
    const sentAt = Date.now();
    let renewed: unknown;
    try {
      renewed = await this.redis.eval(RENEW, 1, this.key, this.token, this.leaseMs);
    } catch {
      return; // Redis unreachable: minting stops once the last renewal is half a lease old; the next round tries again
    } finally {
      this.renewing = false;
    }
    if (renewed === 1 || renewed === 2) {
      this.renewedAt = sentAt;
      return;
    }
    if (this.timer) clearInterval(this.timer);
    this.onLost(`node id ${this.nodeId} is no longer leased to this process`);
  }
}
