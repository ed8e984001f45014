import { Worker } from 'node:worker_threads';

/** What one checkpoint did: WAL frames in the log, and how many of them are now in the database file. */
export interface CheckpointReport {
  log: number;
  checkpointed: number;
  /** The checkpoint could not run to the end (a reader still needs older frames); it goes on next time. */
  busy: boolean;
}

type Reply = { asked: boolean } & (CheckpointReport | { error: string });

/**
 * The checkpoint thread's source (run with `eval`, like the reader threads'): its own read-write connection
 * folds the WAL back into the database file every `intervalMs` with a PASSIVE checkpoint, which takes no
 * writer lock and never waits: the writer keeps appending meanwhile, and readers are never blocked.
 */
const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true, timeout: 0 });
db.pragma('wal_autocheckpoint = 0');
let last = -1;
function checkpoint(asked) {
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    if (asked || row.log !== last)
      parentPort.postMessage({ asked, log: row.log, checkpointed: row.checkpointed, busy: row.busy === 1 });
    last = row.log;
  } catch (err) {
    parentPort.postMessage({ asked, error: err instanceof Error ? err.message : String(err) });
  }
}
const timer = setInterval(() => checkpoint(false), workerData.intervalMs);
parentPort.on('message', (request) => {
  if (request.close) {
    clearInterval(timer);
    db.close();
    parentPort.close();
    return;
  }
  checkpoint(true);
});
`;

/**
 * WAL checkpoints off the event loop. better-sqlite3 runs SQLite on the calling thread, and an automatic
 * checkpoint runs inside the commit that crosses `wal_autocheckpoint`: copying the WAL's pages into the database
 * file and, with `synchronous=NORMAL`, its fsync, all on the main thread. With this thread running, the writer
 * connection does no automatic checkpoints (`wal_autocheckpoint = 0`); the WAL restarts from its beginning at
 * the first commit after a complete checkpoint, so it does not grow while the checkpoints keep up.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  private readonly listeners = new Set<(report: CheckpointReport) => void>();
  private readonly asked: Array<{
    resolve: (report: CheckpointReport) => void;
    reject: (err: Error) => void;
  }> = [];
  /** The last checkpoint's error, if it failed (it is tried again at the next interval). */
  lastError: string | null = null;

  constructor(path: string, intervalMs: number) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver: require.resolve('better-sqlite3'), path, intervalMs },
    });
    // It never keeps the process alive: at close the writer's own last checkpoint folds what is left.
    this.worker.unref();
    this.worker.on('message', (message: Reply) => {
      const waiter = message.asked ? this.asked.shift() : undefined;
      if ('error' in message) {
        this.lastError = message.error;
        waiter?.reject(new Error(`sqlite checkpoint: ${message.error}`));
        return;
      }
      this.lastError = null;
      const report = { log: message.log, checkpointed: message.checkpointed, busy: message.busy };
      waiter?.resolve(report);
      for (const listener of this.listeners) listener(report);
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Calls `listener` after each checkpoint that found new frames (and after each `checkpointNow`). */
  onCheckpoint(listener: (report: CheckpointReport) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A checkpoint now, on the thread; resolves with its report. */
  checkpointNow(): Promise<CheckpointReport> {
    return new Promise((resolve, reject) => {
      this.asked.push({ resolve, reject });
      this.worker.postMessage({ now: true });
    });
  }

  async close(): Promise<void> {
    // Referenced while it closes: otherwise, with nothing else pending, the process would end (with code 0, even
    // after process.exitCode was set by a caller awaiting this) before the thread's exit could resolve `exited`.
    this.worker.ref();
    this.worker.postMessage({ close: true });
    await this.exited;
  }
}
