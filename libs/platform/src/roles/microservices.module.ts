import {
  type BeforeApplicationShutdown,
  type DynamicModule,
  Global,
  Inject,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { EVENT_BUS, JOB_QUEUE, JetStreamJobQueue, NatsEventBus, NatsLink, NatsRpc } from '@parley/bus';
import { ServiceUnavailableError } from '@parley/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger, Metrics, Readiness } from '@parley/observability';
import { GATEWAY_CLUSTER } from '@parley/realtime';
import {
  CONNECTION_SLOTS,
  MemoryTypingStore,
  PRESENCE_STORE,
  RATE_LIMITER,
  RESUME_STORE,
  type RateLimiter,
  RedisConnectionSlots,
  RedisPresenceStore,
  RedisRateLimiter,
  RedisSessionDirectory,
  MemoryResumeStore,
  TYPING_STORE,
} from '@parley/state';
import { MaintenanceMode } from '../maintenance';
import { NatsGatewayCluster } from './gateway-cluster';
import { RedisLink } from './redis-link';
import { ROLE_NEEDS, type Role } from './roles';

export const ROLE = Symbol('ROLE');

/**
 * Microservices transports for one role: events on NATS subjects, RPC over NATS, jobs on JetStream, hot state
 * in Redis. Each connection is opened before the process serves (or the boot fails naming what is missing),
 * reports in /health/ready, and is closed last on shutdown.
 */
@Global()
@Module({})
export class MicroservicesModule
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  constructor(
    @Optional() private readonly nats?: NatsLink,
    @Optional() private readonly redis?: RedisLink,
    @Optional() private readonly jobs?: JetStreamJobQueue,
    @Optional() private readonly presence?: RedisPresenceStore,
    @Optional() private readonly slots?: RedisConnectionSlots,
    @Optional() @Inject(GATEWAY_CLUSTER) private readonly cluster?: NatsGatewayCluster,
  ) {}

  static forRole(role: Role): DynamicModule {
    const needs = ROLE_NEEDS[role];
    const providers: NonNullable<DynamicModule['providers']> = [{ provide: ROLE, useValue: role }];
    const exported: NonNullable<DynamicModule['exports']> = [ROLE];
    if (needs.nats) {
      providers.push(
        {
          provide: NatsLink,
          inject: [PARLEY_CONFIG, AppLogger, Metrics, Readiness],
          useFactory: async (
            config: ParleyConfig,
            log: AppLogger,
            metrics: Metrics,
            readiness: Readiness,
          ) => {
            const link = await NatsLink.open(
              config,
              log,
              metrics,
              `parley-${role}-${config.instance.node_id}`,
            );
            readiness.register('nats', () => link.check());
            return link;
          },
        },
        {
          provide: NatsEventBus,
          inject: [NatsLink, PARLEY_CONFIG, AppLogger, Metrics],
          useFactory: async (link: NatsLink, config: ParleyConfig, log: AppLogger, metrics: Metrics) => {
            const bus = new NatsEventBus(link, log, metrics);
            await bus.init(config.nats.events);
            return bus;
          },
        },
        { provide: EVENT_BUS, useExisting: NatsEventBus },
        {
          provide: NatsRpc,
          inject: [NatsLink, PARLEY_CONFIG, AppLogger, Metrics],
          useFactory: (link: NatsLink, config: ParleyConfig, log: AppLogger, metrics: Metrics) =>
            new NatsRpc(
              link,
              {
                timeoutMs: config.nats.request_timeout,
                breaker: {
                  failureThreshold: config.nats.breaker.failure_threshold,
                  resetAfterMs: config.nats.breaker.reset_after,
                },
              },
              log,
              metrics,
            ),
        },
        {
          provide: JetStreamJobQueue,
          inject: [NatsLink, PARLEY_CONFIG, AppLogger, Metrics, MaintenanceMode],
          useFactory: async (
            link: NatsLink,
            config: ParleyConfig,
            log: AppLogger,
            metrics: Metrics,
            maintenance: MaintenanceMode,
          ) => {
            const queue = new JetStreamJobQueue(link, config, log, metrics, {
              consume: needs.consumeJobs,
              // Jobs write to the database: hold them while it is read-only, as the monolith's runner does.
              paused: () => maintenance.readOnly,
            });
            await queue.init();
            return queue;
          },
        },
        { provide: JOB_QUEUE, useExisting: JetStreamJobQueue },
      );
      exported.push(NatsLink, NatsEventBus, EVENT_BUS, NatsRpc, JetStreamJobQueue, JOB_QUEUE);
    }
    if (needs.redis) {
      providers.push(
        {
          provide: RedisLink,
          inject: [PARLEY_CONFIG, AppLogger, Metrics, Readiness],
          useFactory: async (
            config: ParleyConfig,
            log: AppLogger,
            metrics: Metrics,
            readiness: Readiness,
          ) => {
            const link = await RedisLink.open(config, log, metrics);
            readiness.register('redis', () => link.check());
            return link;
          },
        },
        {
          provide: RATE_LIMITER,
          inject: [RedisLink, AppLogger],
          useFactory: (link: RedisLink, log: AppLogger): RateLimiter => {
            const limiter = new RedisRateLimiter(link.client, link.config.redis.key_prefix);
            const unavailable = (err: unknown): never => {
              log.warn({ err }, 'rate limiter unavailable');
              throw new ServiceUnavailableError('Rate limits are unavailable; try again shortly');
            };
            return {
              consume: (key, rule) => limiter.consume(key, rule).catch(unavailable),
              lockedFor: (key) => limiter.lockedFor(key).catch(unavailable),
              recordFailure: (key, policy) => limiter.recordFailure(key, policy).catch(unavailable),
              clearFailures: (key) => limiter.clearFailures(key).catch(unavailable),
            };
          },
        },
        {
          provide: RedisPresenceStore,
          inject: [RedisLink],
          useFactory: (link: RedisLink) => new RedisPresenceStore(link.client, link.config.redis.key_prefix),
        },
        { provide: PRESENCE_STORE, useExisting: RedisPresenceStore },
      );
      exported.push(RedisLink, RATE_LIMITER, RedisPresenceStore, PRESENCE_STORE);
    }
    if (role === 'gateway') {
      providers.push(
        // Typing stays node-local by design: every gateway node sees the same events and decides alike, and a
        // shared "already shown" mark would let the first node to see a TYPING_START hide it from the others.
        { provide: TYPING_STORE, useFactory: () => new MemoryTypingStore() },
        // Resume buffers stay in this node's memory; Redis holds only the session directory.
        { provide: RESUME_STORE, useFactory: () => new MemoryResumeStore() },
        {
          provide: RedisSessionDirectory,
          inject: [RedisLink, NatsLink],
          useFactory: (redis: RedisLink, nats: NatsLink) =>
            new RedisSessionDirectory(redis.client, redis.config.redis.key_prefix, nats.processKey),
        },
        // Caps on sessions per user and connections per address hold across every gateway node.
        {
          provide: RedisConnectionSlots,
          inject: [RedisLink],
          useFactory: (link: RedisLink) =>
            new RedisConnectionSlots(link.client, link.config.redis.key_prefix),
        },
        { provide: CONNECTION_SLOTS, useExisting: RedisConnectionSlots },
        {
          provide: GATEWAY_CLUSTER,
          inject: [
            NatsLink,
            NatsEventBus,
            RedisLink,
            NatsRpc,
            RedisSessionDirectory,
            RedisPresenceStore,
            AppLogger,
          ],
          useFactory: (
            nats: NatsLink,
            bus: NatsEventBus,
            redis: RedisLink,
            rpc: NatsRpc,
            directory: RedisSessionDirectory,
            presence: RedisPresenceStore,
            log: AppLogger,
          ) => new NatsGatewayCluster(nats, bus, redis, rpc, directory, presence, log),
        },
      );
      exported.push(
        TYPING_STORE,
        RedisSessionDirectory,
        RESUME_STORE,
        RedisConnectionSlots,
        CONNECTION_SLOTS,
        GATEWAY_CLUSTER,
      );
    }
    return { module: MicroservicesModule, providers, exports: exported };
  }

  onApplicationBootstrap(): void {
    this.jobs?.start();
  }

  /** Running jobs finish while storage is still open. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.jobs?.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    this.presence?.close();
    this.slots?.close();
    await this.cluster?.close();
    await this.nats?.close();
    await this.redis?.close();
  }
}
