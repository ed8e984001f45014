import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { activeTracing, type Metrics } from '@parley/observability';
import { Counter, Gauge } from 'prom-client';
import type { Storage } from '@parley/storage';

const REPOSITORIES = [
  'users',
  'tokens',
  'guilds',
  'members',
  'roles',
  'channels',
  'dms',
  'messages',
  'reactions',
  'readStates',
  'guildSettings',
  'push',
  'notificationPrefs',
  'invites',
  'bans',
  'jobs',
] as const;

/**
 * Wraps every repository method with a latency observation (`parley_db_operation_duration_seconds` by
 * backend, `repository.method` and data centre), counts SQLITE_BUSY failures and, with tracing on, records a
 * span per call made inside a trace (SQLite has no OpenTelemetry instrumentation; Cassandra's driver spans
 * nest under these). The wrapper and its labelled child are built once per method, not per call (looking the
 * child up by labels on every call was a measurable share of a message send).
 */
export function instrumentStorage(storage: Storage, metrics: Metrics, dc: string): Storage {
  const histogram = metrics.dbDuration;
  const tracing = activeTracing();
  const busy = (err: unknown) => {
    const code = (err as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) metrics.sqliteBusy.inc();
  };
  for (const name of REPOSITORIES) {
    const repository = storage[name] as unknown as Record<string, unknown>;
    if (!repository) continue;
    const proto = Object.getPrototypeOf(repository) as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(proto)) {
      const method = repository[key];
      if (key === 'constructor' || typeof method !== 'function') continue;
      const operation = `${name}.${key}`;
      const child = histogram.labels({ backend: storage.backend, operation, dc });
      const original = (method as (...args: unknown[]) => unknown).bind(repository);
      const measured = (...args: unknown[]) => {
        const start = performance.now();
        const end = () => child.observe((performance.now() - start) / 1000);
        let result: unknown;
        try {
          result = original(...args);
        } catch (err) {
          busy(err);
          throw err;
        }
        if (result instanceof Promise)
          return result.then(
            (value: unknown) => (end(), value),
            (err: unknown) => {
              end();
              busy(err);
              throw err;
            },
          );
        end();
        return result;
      };
      if (!tracing) {
        repository[key] = measured;
        continue;
      }
      const attributes = { 'db.system.name': storage.backend, 'db.operation.name': operation };
      repository[key] = (...args: unknown[]) => {
        // Background work outside any trace (job polls, sweeps) starts no trace of its own.
        if (!tracing.inTrace()) return measured(...args);
        const span = tracing.startSpan(`storage ${operation}`, { attributes });
        const failed = (err: unknown) => {
          span.recordException(err instanceof Error ? err : String(err));
          span.setStatus({ code: 2, message: (err as Error)?.message }); // 2: SpanStatusCode.ERROR
          span.end();
          throw err;
        };
        let result: unknown;
        try {
          result = tracing.withContext(tracing.contextOf(span), () => measured(...args));
        } catch (err) {
          return failed(err);
        }
        if (!(result instanceof Promise)) {
          span.end();
          return result;
        }
        return result.then((value: unknown) => (span.end(), value), failed);
      };
    }
  }
  return storage;
}

/** The WAL header's checkpoint sequence number: SQLite bumps it each time a complete checkpoint lets it restart the WAL. */
function walSequence(wal: string): number | null {
  let fd: number | undefined;
  try {
    fd = openSync(wal, 'r');
    const header = Buffer.alloc(16);
    return readSync(fd, header, 0, 16, 0) === 16 ? header.readUInt32BE(12) : null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The SQLite write-ahead log, read at scrape time from the file (better-sqlite3 exposes no checkpoint hook):
 * its size (a WAL that keeps growing means checkpoints cannot finish, usually a long reader) and the
 * checkpoints that restarted it since this process started.
 */
export function registerSqliteWalMetrics(path: string, metrics: Metrics): void {
  const wal = `${path}-wal`;
  let last = walSequence(wal);
  new Gauge({
    name: 'parley_sqlite_wal_bytes',
    help: 'Size of the SQLite write-ahead log file',
    registers: [metrics.registry],
    collect() {
      try {
        this.set(statSync(wal).size);
      } catch {
        this.set(0);
      }
    },
  });
  new Counter({
    name: 'parley_sqlite_wal_checkpoints_total',
    help: 'Complete WAL checkpoints (WAL restarts) since the process started (database.sqlite.wal_autocheckpoint)',
    registers: [metrics.registry],
    collect() {
      const seq = walSequence(wal);
      if (seq === null) return;
      // A smaller number: the WAL file was deleted and created again (every connection closed meanwhile).
      if (last !== null) this.inc(seq >= last ? seq - last : seq);
      last = seq;
    },
  });
}
