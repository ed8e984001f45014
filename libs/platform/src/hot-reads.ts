import { Inject, Injectable, type OnModuleDestroy, Optional } from '@nestjs/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { Metrics } from '@parley/observability';
import { STORAGE, type Storage } from '@parley/storage';
import { Counter } from 'prom-client';

/**
 * Keeps the storage driver's hot-read caches (Cassandra: channels, message authors) in step with other processes:
 * each CHANNEL_* and USER_UPDATE invalidation forgets that entry (the driver already forgets what its own
 * process writes). Also exports the caches' hits, misses and coalesced reads as
 * `parley_db_hot_reads_total{cache, outcome}`.
 */
@Injectable()
export class HotReadInvalidation implements OnModuleDestroy {
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(STORAGE) storage: Storage,
    metrics: Metrics,
    // A role without a bus (media-proxy) hears no invalidations: its cached rows live cache_ttl at most.
    @Optional() @Inject(EVENT_BUS) bus?: EventBus,
  ) {
    const hotReads = storage.hotReads;
    if (hotReads) registerHotReadMetrics(hotReads, metrics);
    if (!hotReads || !bus) {
      this.unsubscribe = () => undefined;
      return;
    }
    this.unsubscribe = bus.subscribeInvalidations((event) => {
      const id = (event.data as { id?: unknown } | undefined)?.id;
      if (typeof id !== 'string') return;
      if (event.type === 'USER_UPDATE') hotReads.forgetUser(id);
      else if (event.type.startsWith('CHANNEL_')) hotReads.forgetChannel(id);
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }
}

function registerHotReadMetrics(hotReads: NonNullable<Storage['hotReads']>, metrics: Metrics): void {
  const seen = new Map<string, number>();
  new Counter({
    name: 'parley_db_hot_reads_total',
    help: 'Hot reads of the storage caches by outcome: hit (cached), miss (sent), coalesced (joined one in flight)',
    labelNames: ['cache', 'outcome'],
    registers: [metrics.registry],
    collect() {
      for (const stats of hotReads.stats())
        for (const outcome of ['hits', 'misses', 'coalesced'] as const) {
          const key = `${stats.cache}:${outcome}`;
          const now = stats[outcome];
          const delta = now - (seen.get(key) ?? 0);
          seen.set(key, now);
          // Counted from the first scrape on, zeros included so the series exist.
          this.inc(
            {
              cache: stats.cache,
              outcome: outcome === 'hits' ? 'hit' : outcome === 'misses' ? 'miss' : 'coalesced',
            },
            delta,
          );
        }
    },
  });
}
