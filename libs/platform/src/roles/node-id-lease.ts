import { randomBytes } from 'node:crypto';
import { type ParleyConfig, maskCredentials } from '@parley/config';
import type { Redis } from 'ioredis';
import { RedisLink, ioredis } from './redis-link';

const LEASE_MS = 60_000;
const RENEW_EVERY_MS = 10_000;
const NODE_IDS = 128;

// Renews only while the key still holds our token: 1 renewed, 0 lost to someone else (or expired).
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * A snowflake node id claimed in Redis for as long as this process lives (`instance.claim_node_id`), so the
 * replicas of one Deployment, which share their configuration, never mint the same ids. The lease is renewed
 * every few seconds and outlives a Redis outage of most of a minute; a process that finds its id taken by
 * another stops rather than risk duplicate ids.
 */
export class NodeIdLease {
  private timer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly token: string,
    readonly nodeId: number,
    private readonly onLost: (reason: string) => void,
  ) {}

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
    for (let i = 0; i < NODE_IDS; i++) {
      const nodeId = (start + i) % NODE_IDS;
      const key = `${config.redis.key_prefix}node-id:${config.instance.region_id}:${nodeId}`;
      if ((await redis.set(key, token, 'PX', LEASE_MS, 'NX')) === 'OK') {
        const lease = new NodeIdLease(redis, key, token, nodeId, onLost);
        lease.timer = setInterval(() => void lease.renew(), RENEW_EVERY_MS);
        lease.timer.unref();
        return lease;
      }
    }
    redis.disconnect();
    throw new Error(
      `instance.claim_node_id: all ${NODE_IDS} node ids of region ${config.instance.region_id} are taken`,
    );
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.redis.eval(RELEASE, 1, this.key, this.token).catch(() => undefined);
    this.redis.disconnect();
  }

  private async renew(): Promise<void> {
    let renewed: unknown;
    try {
      renewed = await this.redis.eval(RENEW, 1, this.key, this.token, LEASE_MS);
    } catch {
      return; // Redis unreachable: the lease holds for a while yet; the next round tries again
    }
    if (renewed === 1) return;
    if (this.timer) clearInterval(this.timer);
    this.onLost(`node id ${this.nodeId} is no longer leased to this process`);
  }
}
