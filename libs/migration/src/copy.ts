import { performance } from 'node:perf_hooks';
import { BULK_TABLES, type BulkStorage, type BulkTable, type MigrationCheckpoint } from '@parley/storage';
import { recordKey } from './canonical';
import type { ProgressSink } from './progress';

export interface CopyOptions {
  source: BulkStorage;
  target: BulkStorage;
  /** Identity of the source: checkpoints in the target are kept under it. */
  sourceId: string;
  tables?: readonly BulkTable[];
  /** Rows per scan page and per write call. */
  batchSize?: number;
  /** Write calls in flight at once (the target bounds its own requests below that). */
  parallel?: number;
  /** Forget the checkpoints and copy everything again. */
  restart?: boolean;
  progress?: ProgressSink;
  /** Stop reading, let the writes in flight finish, save the checkpoint, then reject with Interrupted. */
  signal?: AbortSignal;
}

export interface TableCopy {
  table: BulkTable;
  /** Rows copied from this source so far, over every run. */
  rows: number;
  /** Rows copied by this run, and how long it took. */
  copied: number;
  seconds: number;
  /** Rows an earlier run had already copied when this one resumed (0 for a fresh start). */
  resumedAt: number;
  /** Already complete before this run. */
  skipped: boolean;
}

/** A record the target refused (a uniqueness claim held by another record, an invalid value). */
export class CopyError extends Error {
  constructor(
    readonly table: BulkTable,
    readonly key: string,
    readonly reason: Error,
  ) {
    super(`${table} ${key}: ${reason.message}`);
    this.name = 'CopyError';
  }
}

export class Interrupted extends Error {
  constructor() {
    super('interrupted; the checkpoint is saved, run the same command again to resume');
    this.name = 'Interrupted';
  }
}

/** Saves checkpoints one at a time; a newer one replaces a pending older one (only the latest matters). */
class CheckpointSaver {
  private latest: MigrationCheckpoint | null = null;
  private running: Promise<void> | null = null;
  private error: unknown = null;

  constructor(
    private readonly target: BulkStorage,
    private readonly sourceId: string,
  ) {}

  save(checkpoint: Omit<MigrationCheckpoint, 'updatedAt'>): void {
    this.latest = { ...checkpoint, updatedAt: Date.now() };
    this.running ??= this.loop();
  }

  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.error) throw asError(this.error);
  }

  private async loop(): Promise<void> {
    try {
      while (this.latest) {
        const checkpoint = this.latest;
        this.latest = null;
        await this.target.checkpoints.save(this.sourceId, checkpoint);
      }
    } catch (err) {
      this.error ??= err;
    } finally {
      this.running = null;
    }
  }
}

/**
 * Streams every table from source to target in batches: the next page is read while earlier ones are
 * written, with at most `parallel` write calls in flight. Writes are idempotent upserts. After each batch
 * the checkpoint advances to the end of the longest run of batches that are all written (batches finish
 * out of order), so a run killed at any point (even SIGKILL) resumes from there: what it had written
 * past the checkpoint is written again, identically, and nothing before it is skipped.
 */
export async function copyTables(options: CopyOptions): Promise<TableCopy[]> {
  const { target, sourceId } = options;
  if (options.restart) await target.checkpoints.clear(sourceId);
  const saved = new Map((await target.checkpoints.list(sourceId)).map((cp) => [cp.table, cp]));
  const results: TableCopy[] = [];
  for (const table of options.tables ?? BULK_TABLES) {
    const checkpoint = saved.get(table);
    if (checkpoint?.done) {
      options.progress?.skip?.(table, checkpoint.rows);
      results.push({
        table,
        rows: checkpoint.rows,
        copied: 0,
        seconds: 0,
        resumedAt: checkpoint.rows,
        skipped: true,
      });
      continue;
    }
    results.push(await copyTable(table, checkpoint ?? null, options));
  }
  return results;
}

async function copyTable(
  table: BulkTable,
  checkpoint: MigrationCheckpoint | null,
  options: CopyOptions,
): Promise<TableCopy> {
  const { source, target, progress, signal } = options;
  const batchSize = options.batchSize ?? 1000;
  const parallel = Math.max(1, options.parallel ?? 4);
  const saver = new CheckpointSaver(target, options.sourceId);
  const resumedAt = checkpoint?.rows ?? 0;
  const started = performance.now();

  interface Batch {
    cursorAfter: string | null;
    rows: number;
    written: boolean;
  }
  const window: Batch[] = []; // in scan order, oldest first
  const running = new Set<Promise<void>>();
  let committed = { cursor: checkpoint?.cursor ?? null, rows: resumedAt };
  let exhausted = false;
  let failure: unknown = null;

  progress?.start(table, await source.count(table), resumedAt);

  const settle = (batch: Batch) => {
    batch.written = true;
    progress?.advance(table, batch.rows);
    while (window.length > 0 && window[0].written) {
      const done = window.shift() as Batch;
      // The last page has no cursor after it: the table is then done (saved below), not restarted.
      committed = { cursor: done.cursorAfter ?? committed.cursor, rows: committed.rows + done.rows };
    }
    saver.save({ table, cursor: committed.cursor, rows: committed.rows, done: false });
  };

  let page = await source.scan(table, committed.cursor, batchSize);
  for (;;) {
    // Read ahead while this page is written.
    const next = page.cursor !== null ? source.scan(table, page.cursor, batchSize) : null;
    next?.catch(() => undefined);
    if (page.records.length > 0) {
      const batch: Batch = { cursorAfter: page.cursor, rows: page.records.length, written: false };
      window.push(batch);
      const records = page.records;
      const write: Promise<void> = target
        .write(table, records)
        .then((failures) => {
          if (failures.length > 0) {
            const { index, error } = failures[0];
            throw new CopyError(table, recordKey(table, records[index]), error);
          }
          settle(batch);
        })
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => running.delete(write));
      running.add(write);
      while (running.size >= parallel) await Promise.race(running);
    }
    if (next === null) exhausted = true;
    if (next === null || failure !== null || signal?.aborted) break;
    page = await next;
  }
  await Promise.all(running);
  const done = exhausted && failure === null && !signal?.aborted;
  saver.save({ table, cursor: committed.cursor, rows: committed.rows, done });
  await saver.flush();
  if (failure !== null) throw asError(failure);
  if (signal?.aborted) throw new Interrupted();
  const seconds = (performance.now() - started) / 1000;
  const copied = committed.rows - resumedAt;
  progress?.finish(table, committed.rows, seconds);
  return { table, rows: committed.rows, copied, seconds, resumedAt, skipped: false };
}

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
