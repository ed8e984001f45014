import { busyBudget, isBusy, type SqliteDb } from './connection';
import type { Param } from './codec';

/** A row written with a message, in its transaction (the jobs that follow the message). */
export interface CompanionRow {
  sql: string;
  params: Param[];
}

interface PendingWrite {
  params: Param[];
  companions: readonly CompanionRow[];
  resolve: () => void;
  reject: (err: unknown) => void;
  /** When it was queued: it waits for another connection's lock at most busy_timeout from then. */
  since: number;
}

/** Longest pause between two attempts at a lock another connection holds. */
const BUSY_BACKOFF_MAX_MS = 50;

/**
 * Group commit for message inserts: writes queued during one turn of the event loop go to disk in
 * ONE transaction at setImmediate (or as soon as `maxBatch` are waiting), so a burst of sends costs
 * one WAL commit instead of one each. Every caller's promise settles only after that commit.
 *
 * Durability is the commit's: in WAL mode with synchronous=NORMAL a resolved write survives a crash
 * of the process but the last commits may roll back on power loss or an OS crash (the WAL is synced
 * at checkpoints); with FULL each batch's commit is fsynced before any of its promises resolve, and
 * batching is what keeps that one fsync affordable.
 *
 * A write may carry companion rows (the durable jobs that follow the message: its link previews, mention
 * counts, notifications): they are inserted in the same transaction, so the message and its jobs are stored
 * together or not at all, in one commit, and no job exists for a message that was not stored.
 *
 * When another connection holds the write lock (SQLITE_BUSY: the writer never waits for it, busy_timeout 0), the
 * batch goes back to the head of the queue and is tried again after a growing pause (1 ms doubling to 50 ms), for
 * up to busy_timeout from its oldest write's arrival; the event loop serves everything else meanwhile.
 */
export class MessageWriter {
  private queue: PendingWrite[] = [];
  private scheduled: NodeJS.Immediate | null = null;
  private retry: NodeJS.Timeout | null = null;
  private backoff = 1;

  constructor(
    private readonly db: SqliteDb,
    private readonly sql: string,
    private readonly maxBatch = 256,
  ) {}

  write(params: Param[], companions: readonly CompanionRow[] = []): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ params, companions, resolve, reject, since: Date.now() });
      if (this.retry !== null) return; // waiting for another connection's lock: the retry takes it along
      if (this.queue.length >= this.maxBatch) this.flush();
      else this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Commits whatever is queued now; also called before other message writes so they apply in call order. */
  flush(): void {
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = null;
    }
    if (this.retry) {
      clearTimeout(this.retry);
      this.retry = null;
    }
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const insert = this.db.statement(this.sql);
    const run = (pending: PendingWrite): void => {
      insert.run(...pending.params);
      for (const row of pending.companions) this.db.statement(row.sql).run(...row.params);
    };
    try {
      this.db.transaction(() => {
        for (const pending of batch) run(pending);
      });
    } catch (err) {
      if (isBusy(err) && Date.now() - batch[0].since < busyBudget()) {
        // Nothing was written: try the same batch again (with whatever arrives meanwhile) after a pause.
        this.queue = [...batch, ...this.queue];
        this.retry = setTimeout(() => {
          this.retry = null;
          this.flush();
        }, this.backoff);
        this.backoff = Math.min(this.backoff * 2, BUSY_BACKOFF_MAX_MS);
        return;
      }
      // The batch rolled back as a whole; retry write by write (the message with its companion rows, in a
      // transaction of its own) so one bad write fails only its own caller and leaves none of its rows behind.
      for (const pending of batch) {
        try {
          if (pending.companions.length === 0) insert.run(...pending.params);
          else this.db.transaction(() => run(pending));
          pending.resolve();
        } catch (err) {
          pending.reject(err);
        }
      }
      return;
    }
    this.backoff = 1;
    for (const pending of batch) pending.resolve();
  }
}
