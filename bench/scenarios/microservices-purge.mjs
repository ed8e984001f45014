// Removes what a run of bench/scenarios/microservices.mjs left in the shared NATS (its streams) and Redis (its
// keys) under one prefix. Imported by the scenario; also run as `node microservices-purge.mjs <prefix>...` from its
// exit hook, which cannot wait for network calls itself.
import { pathToFileURL } from 'node:url';

export const REDIS_URL = 'redis://127.0.0.1:6379';
export const NATS_URL = 'nats://127.0.0.1:4222';

/** Removes what one mode left in the shared NATS (its streams) and Redis (its keys). */
export async function purgePrefix(prefix) {
  try {
    const { connect } = await import('@nats-io/transport-node');
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const nc = await connect({ servers: NATS_URL, timeout: 2000 });
    try {
      const jsm = await jetstreamManager(nc);
      for (const name of [`${prefix}_jobs`, `${prefix}_jobs_dead`, `${prefix}_events`])
        await jsm.streams.delete(name).catch(() => false);
    } finally {
      await nc.close();
    }
  } catch (err) {
    process.stderr.write(`bench: microservices: NATS clean-up of ${prefix} failed: ${err?.message}\n`);
  }
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    let cursor = '0';
    for (let i = 0; i < 10_000; i++) {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
      if (cursor === '0') break;
    }
  } catch (err) {
    process.stderr.write(`bench: microservices: Redis clean-up of ${prefix} failed: ${err?.message}\n`);
  } finally {
    redis.disconnect();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const prefix of process.argv.slice(2)) if (/^bms[0-9a-z]+$/.test(prefix)) await purgePrefix(prefix);
  process.exit(0);
}
