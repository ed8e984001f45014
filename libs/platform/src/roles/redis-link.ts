import { type ParleyConfig, maskCredentials } from '@parley/config';
import type { AppLogger, Metrics } from '@parley/observability';
import { lazy } from '@parley/common';
import type * as IORedis from 'ioredis';
import type { Redis, RedisOptions } from 'ioredis';

/** ioredis, loaded only by processes that use Redis (never by the monolith). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const ioredis = lazy(() => require('ioredis') as typeof IORedis);
import { Counter, Gauge } from 'prom-client';

/**
 * Redis for hot ephemeral state. Commands fail at once while the connection is down (no offline queue) and
 * time out after `redis.command_timeout`, so a request fails fast with 503 instead of waiting; the client
 * reconnects by itself.
 */
export class RedisLink {
  readonly client: Redis;
  private readonly errors: Counter<'kind'>;

  private constructor(
    readonly config: ParleyConfig,
    private readonly log: AppLogger,
    metrics: Metrics,
  ) {
    this.errors =
      (metrics.registry.getSingleMetric('parley_redis_errors_total') as Counter<'kind'> | undefined) ??
      new Counter({
        name: 'parley_redis_errors_total',
        help: 'Redis connection losses and client errors, by kind',
        labelNames: ['kind'] as const,
        registers: [metrics.registry],
      });
    if (!metrics.registry.getSingleMetric('parley_redis_connected')) {
      const connected = () => this.connected;
      new Gauge({
        name: 'parley_redis_connected',
        help: '1 while this process is connected to Redis, 0 while it reconnects',
        registers: [metrics.registry],
        collect() {
          this.set(connected() ? 1 : 0);
        },
      });
    }
    this.client = new (ioredis().Redis)(config.redis.url, {
      ...RedisLink.options(config),
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      lazyConnect: true,
    });
    let wasReady = false;
    this.client.on('ready', () => {
      if (wasReady) this.log.info('Redis connection back');
      wasReady = true;
    });
    this.client.on('end', () => this.errors.inc({ kind: 'end' }));
    this.client.on('close', () => {
      if (!wasReady) return;
      this.errors.inc({ kind: 'disconnect' });
      this.log.warn('Redis connection lost; reconnecting');
    });
    this.client.on('error', (err: Error) => {
      this.errors.inc({ kind: 'error' });
      this.log.debug({ err }, 'Redis error');
    });
  }

  /** Options every Redis connection of a process shares (the socket.io adapter's too). */
  static options(config: ParleyConfig): RedisOptions {
    return {
      connectTimeout: 5_000,
      commandTimeout: config.redis.command_timeout,
      maxRetriesPerRequest: 1,
      retryStrategy: (times: number) => Math.min(100 * times, 2_000),
    };
  }

  /** Connects or fails the boot with a message naming the URL. */
  static async open(config: ParleyConfig, log: AppLogger, metrics: Metrics): Promise<RedisLink> {
    const link = new RedisLink(config, log, metrics);
    try {
      await link.client.connect();
    } catch (err) {
      link.client.disconnect();
      throw new Error(
        `cannot reach Redis at ${maskCredentials(config.redis.url)} (redis.url): ${(err as Error).message}; start redis-server`,
      );
    }
    return link;
  }

  get connected(): boolean {
    return this.client.status === 'ready';
  }

  async check(): Promise<void> {
    if (!this.connected) throw new Error(`disconnected (${this.client.status})`);
    await this.client.ping();
  }

  /** A new connection with the same options (pub/sub needs its own). */
  duplicate(): Redis {
    return new (ioredis().Redis)(this.config.redis.url, RedisLink.options(this.config));
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
