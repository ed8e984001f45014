import type { SqliteDb } from './connection';
import type { Param } from './codec';

interface PendingWrite {
  params: Param[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for message inserts: writes queued during one turn of the event loop go to disk in
 * ONE transaction at setImmediate (or as soon as `maxBatch` are waiting), so a burst of sends costs
 * one WAL commit instead of one each. Every caller's promise settles only after that commit.
 *
 * Durability is the commit's: in WAL mode with synchronous=NORMAL a resolved write survives a crash
 * of the process but the last commits may roll back on power loss or an OS crash (the WAL is synced
 * at checkpoints); with FULL each batch's commit is fsynced before any of its promises resolve, and
 * batching is what keeps that one fsync affordable.
 */
export class MessageWriter {
  private queue: PendingWrite[] = [];
  private scheduled: NodeJS.Immediate | null = null;

  constructor(
    private readonly db: SqliteDb,
    private readonly sql: string,
    private readonly maxBatch = 256,
  ) {}

  write(params: Param[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ params, resolve, reject });
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
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const insert = this.db.statement(this.sql);
    try {
      this.db.transaction(() => {
        for (const pending of batch) insert.run(...pending.params);
      });
    } catch {
      // The batch rolled back as a whole; retry row by row so one bad row fails only its own caller.
      for (const pending of batch) {
        try {
          insert.run(...pending.params);
          pending.resolve();
        } catch (err) {
          pending.reject(err);
        }
      }
      return;
    }
    for (const pending of batch) pending.resolve();
  }
}
