import { randomBytes } from 'node:crypto';
import { type ParleyConfig, isMultiRegion, maskCredentials } from '@parley/config';
import type { AppLogger, Metrics } from '@parley/observability';
import type { ConnectionOptions, NatsConnection, Subscription } from '@nats-io/nats-core';
import { joinRegionCensus } from './region-census';

// The Node transport's declarations re-export the core's through a subpath this project's module resolution
// does not follow; its options and connection are the core's.
const connect = (options: ConnectionOptions): Promise<NatsConnection> =>
  (natsTransport().connect as unknown as (options: ConnectionOptions) => Promise<NatsConnection>)(options);
import { Counter, Gauge } from 'prom-client';
import { natsTransport } from './modules';

export type LinkListener = (up: boolean) => void;

/**
 * One NATS connection per process: events, RPC and jobs share it. Reconnects forever by itself; listeners hear
 * every loss and every return, because a node that was cut off has missed core-NATS messages for good.
 */
export class NatsLink {
  /** Unique per process start: event ids and RPC addresses are built from it. */
  readonly processKey = randomBytes(6).toString('base64url');
  private up = true;
  private readonly listeners = new Set<LinkListener>();
  private readonly errors: Counter<'kind'>;
  private census: Subscription | null = null;

  private constructor(
    readonly nc: NatsConnection,
    readonly prefix: string,
    private readonly log: AppLogger,
    metrics: Metrics,
    /**
     * Multi-region: this process's region. Events share `prefix` across regions (they cross NATS gateways);
     * what must stay in the region (jobs) is named after it too, see `regionalPrefix`.
     */
    readonly region: string | null = null,
  ) {
    this.errors =
      (metrics.registry.getSingleMetric('parley_nats_errors_total') as Counter<'kind'> | undefined) ??
      new Counter({
        name: 'parley_nats_errors_total',
        help: 'NATS connection losses and client errors, by kind',
        labelNames: ['kind'] as const,
        registers: [metrics.registry],
      });
    if (!metrics.registry.getSingleMetric('parley_nats_connected')) {
      const connected = () => this.connected;
      new Gauge({
        name: 'parley_nats_connected',
        help: '1 while this process is connected to NATS, 0 while it reconnects',
        registers: [metrics.registry],
        collect() {
          this.set(connected() ? 1 : 0);
        },
      });
    }
    void this.watch();
  }

  /** Connects or fails the boot with a message naming the URL: a process never starts half-wired. */
  static async open(config: ParleyConfig, log: AppLogger, metrics: Metrics, name: string): Promise<NatsLink> {
    const n = config.nats;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: n.url.split(',').map((s) => s.trim()),
        name,
        token: n.auth_token || undefined,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        reconnectJitter: 250,
        pingInterval: 10_000,
        maxPingOut: 2,
        timeout: 5_000,
      });
    } catch (err) {
      throw new Error(
        `cannot reach NATS at ${maskCredentials(n.url)} (nats.url): ${(err as Error).message}; start nats-server with JetStream (-js)`,
      );
    }
    if (!isMultiRegion(config)) return new NatsLink(nc, n.subject_prefix, log, metrics);
    const link = new NatsLink(nc, n.subject_prefix, log, metrics, config.instance.region);
    try {
      link.census = await joinRegionCensus(nc, config, n.subject_prefix, { key: link.processKey, name });
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
    return link;
  }

  /**
   * Subject stem of what belongs to this region alone: `<prefix>` in a single region, `<prefix>.<region>` with
   * several, where every region's JetStream would otherwise capture the others' jobs (a stream's subjects
   * attract messages across the gateways like any subscription).
   */
  get regionalPrefix(): string {
    return this.region ? `${this.prefix}.${this.region}` : this.prefix;
  }

  /** Stream-name stem of the same (`<prefix>_<region>`), which also keeps JetStream advisories apart. */
  get regionalStem(): string {
    return this.region ? `${this.prefix}_${this.region}` : this.prefix;
  }

  get connected(): boolean {
    return this.up && !this.nc.isClosed();
  }

  onChange(listener: LinkListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Readiness: answers only when the server does (a flush is a round trip). */
  async check(): Promise<void> {
    if (!this.connected) throw new Error('disconnected');
    await this.nc.flush();
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    this.census?.unsubscribe();
    try {
      await this.nc.drain();
    } catch {
      await this.nc.close();
    }
  }

  private async watch(): Promise<void> {
    for await (const status of this.nc.status()) {
      switch (status.type) {
        case 'disconnect':
          if (!this.up) break;
          this.up = false;
          this.errors.inc({ kind: 'disconnect' });
          this.log.warn({ server: status.server }, 'NATS connection lost; reconnecting');
          this.emit(false);
          break;
        case 'reconnect':
          this.up = true;
          this.log.info({ server: status.server }, 'NATS connection back');
          this.emit(true);
          break;
        case 'error':
          this.errors.inc({ kind: 'error' });
          this.log.warn({ err: status.error }, 'NATS error');
          break;
        case 'slowConsumer':
          this.errors.inc({ kind: 'slow_consumer' });
          break;
        case 'close':
        case 'forceReconnect':
        case 'ldm':
        case 'ping':
        case 'reconnecting':
        case 'staleConnection':
        case 'update':
          break;
      }
    }
  }

  private emit(up: boolean): void {
    for (const listener of this.listeners) {
      try {
        listener(up);
      } catch (err) {
        this.log.error({ err }, 'NATS link listener failed');
      }
    }
  }
}
