// The machine's shared Redis and NATS and the clean-up after a run under a prefix. bench/ imports this file too,
// through Node's type stripping (erasable TypeScript; packages and built-ins only, no relative imports).

/** The machine's shared services the main flow runs against (CI starts them; see docs/operations.md). */
export const SHARED_REDIS = 'redis://127.0.0.1:6379';
export const SHARED_NATS = 'nats://127.0.0.1:4222';

/** Deletes what one test run left in the shared NATS (its job streams) and Redis (its keys). */
export async function purgePrefix(
  prefix: string,
  natsUrl = SHARED_NATS,
  redisUrl = SHARED_REDIS,
  onError: (what: string, err: unknown) => void = () => undefined,
): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const { Redis } = await import('ioredis');
  try {
    const nc = await connect({ servers: natsUrl, timeout: 2000 });
    try {
      const jsm = await jetstreamManager(nc);
      for (const name of [`${prefix}_jobs`, `${prefix}_jobs_dead`, `${prefix}_events`])
        await jsm.streams.delete(name).catch(() => false);
    } finally {
      await nc.close();
    }
  } catch (err) {
    // the service is gone (a fault test): nothing to clean
    onError('NATS', err);
  }
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } catch (err) {
    onError('Redis', err); // as above
  } finally {
    redis.disconnect();
  }
}
