import { Inject, Injectable, Optional } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every process's Prometheus registry and the metrics the operator docs list. With `metrics.enabled` false
 * nothing collects in the background (no event-loop or GC observers), request latencies are not observed and
 * no route serves the registry; the counters below still exist so that callers need no checks.
 */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly enabled: boolean;

  readonly httpDuration = new Histogram({
    name: 'parley_http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly dbDuration = new Histogram({
    name: 'parley_db_operation_duration_seconds',
    help: 'Storage latency by operation and data centre (Cassandra: database.cassandra.local_dc; SQLite: the region)',
    labelNames: ['backend', 'operation', 'dc'] as const,
    // Up to request_timeout (12 s by default): a slow node's tail must show, not fall into +Inf.
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'parley_rate_limited_total',
    help: 'Requests answered 429, by bucket',
    labelNames: ['bucket'] as const,
    registers: [this.registry],
  });
  readonly eventsPublished = new Counter({
    name: 'parley_events_published_total',
    help: 'Domain events published, by type',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly jobsEnqueued = new Counter({
    name: 'parley_jobs_enqueued_total',
    help: 'Durable jobs enqueued',
    labelNames: ['name'] as const,
    registers: [this.registry],
  });
  readonly jobsCompleted = new Counter({
    name: 'parley_jobs_completed_total',
    help: 'Durable job runs by outcome (ok, retry, dead)',
    labelNames: ['name', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly jobsPending = new Gauge({
    name: 'parley_jobs_pending',
    help: 'Durable jobs waiting or leased',
    registers: [this.registry],
  });

  readonly sqliteBusy = new Counter({
    name: 'parley_sqlite_busy_total',
    help: 'Storage calls that failed with SQLITE_BUSY (a lock held longer than database.sqlite.busy_timeout)',
    registers: [this.registry],
  });

  constructor(@Optional() @Inject(PARLEY_CONFIG) config?: ParleyConfig) {
    this.enabled = config?.metrics.enabled ?? true;
    if (this.enabled) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }
}
