import { Worker } from 'node:worker_threads';
import type { SqliteDb } from './connection';
import type { Param } from './codec';
import { HOT_QUERIES, type HotQueryName, type HotReader } from './hot-queries';

/** Runs hot reads on the writer connection (max_open_conns = 1, or an in-memory database). */
export class WriterReader implements HotReader {
  constructor(private readonly db: SqliteDb) {}

  all<R>(query: HotQueryName, params: readonly Param[]): Promise<R[]> {
    return Promise.resolve(this.db.all<R>(HOT_QUERIES[query].sql, ...params));
  }
}

/**
 * The worker's source, run with `eval`: plain CommonJS that needs only better-sqlite3 (its path comes
 * in workerData). Embedding it avoids locating a .js file next to the sources or the build, which the
 * TypeScript build would not copy and the type-aware lint cannot parse.
 */
const WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { readonly: true, fileMustExist: true, timeout: workerData.busyTimeout });
db.defaultSafeIntegers(true);
db.pragma('cache_size = ' + workerData.cacheSize);
db.pragma('mmap_size = ' + workerData.mmapSize);
const statements = new Map();
parentPort.on('message', (request) => {
  if (request.close) {
    db.close();
    parentPort.close();
    return;
  }
  try {
    let statement = statements.get(request.sql);
    if (statement === undefined) {
      statement = db.prepare(request.sql);
      statements.set(request.sql, statement);
    }
    parentPort.postMessage({ id: request.id, rows: statement.all(...request.params) });
  } catch (err) {
    parentPort.postMessage({ id: request.id, error: err instanceof Error ? err.message : String(err) });
  }
});
`;

interface Reply {
  id: number;
  rows?: unknown[];
  error?: string;
}

interface Waiter {
  resolve: (rows: unknown[]) => void;
  reject: (err: Error) => void;
}

class ReaderThread {
  private readonly waiting = new Map<number, Waiter>();
  private readonly exited: Promise<void>;
  alive = true;

  constructor(private readonly worker: Worker) {
    // An idle reader must not keep the process alive; one with requests in flight must.
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.settled(reply.id);
      if (reply.error !== undefined) waiter.reject(new Error(`sqlite reader: ${reply.error}`));
      else waiter.resolve(reply.rows ?? []);
    });
    worker.on('error', (err: unknown) => this.failAll(err instanceof Error ? err : new Error(String(err))));
    this.exited = new Promise((resolve) => {
      worker.once('exit', () => {
        this.alive = false;
        this.failAll(new Error('sqlite reader thread exited'));
        resolve();
      });
    });
  }

  get load(): number {
    return this.waiting.size;
  }

  request(id: number, sql: string, params: readonly Param[], waiter: Waiter): void {
    if (this.waiting.size === 0) this.worker.ref();
    this.waiting.set(id, waiter);
    this.worker.postMessage({ id, sql, params });
  }

  private settled(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
  }

  private failAll(err: Error): void {
    for (const [id, waiter] of [...this.waiting]) {
      this.settled(id);
      waiter.reject(err);
    }
  }

  async close(): Promise<void> {
    // Referenced while it closes, so the process waits for the thread's exit instead of ending meanwhile.
    this.worker.ref();
    this.worker.postMessage({ close: true });
    await this.exited;
  }
}

export interface ReaderPoolSettings {
  path: string;
  size: number;
  busyTimeout: number;
  cacheSize: number;
  mmapSize: number;
}

/**
 * better-sqlite3 is synchronous, so more connections on the main thread add no concurrency. These
 * threads each hold a read-only connection to the same WAL database and take the heavy reads, so
 * long history and member pages do not stall the event loop or each other. WAL readers see the last
 * committed state, which includes every write whose promise has resolved.
 */
export class ReaderPool implements HotReader {
  private threads: ReaderThread[] | null = null;
  private nextId = 0;
  private closed = false;

  constructor(private readonly settings: ReaderPoolSettings) {}

  all<R>(query: HotQueryName, params: readonly Param[]): Promise<R[]> {
    if (this.closed) return Promise.reject(new Error('storage is closed'));
    const thread = this.leastBusy();
    const id = this.nextId++;
    return new Promise<R[]>((resolve, reject) => {
      thread.request(id, HOT_QUERIES[query].sql, params, { resolve: (rows) => resolve(rows as R[]), reject });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const threads = this.threads ?? [];
    this.threads = null;
    await Promise.all(threads.map((thread) => thread.close()));
  }

  private leastBusy(): ReaderThread {
    // Started on first use: by then the writer has put the file in WAL mode and migrated it.
    // A thread that died (say the file could not be opened) is replaced rather than left to swallow requests.
    this.threads ??= Array.from({ length: this.settings.size }, () => this.spawn());
    if (this.threads.some((thread) => !thread.alive)) {
      this.threads = this.threads.map((thread) => (thread.alive ? thread : this.spawn()));
    }
    return this.threads.reduce((best, thread) => (thread.load < best.load ? thread : best));
  }

  private spawn(): ReaderThread {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        driver: require.resolve('better-sqlite3'),
        path: this.settings.path,
        busyTimeout: this.settings.busyTimeout,
        cacheSize: this.settings.cacheSize,
        mmapSize: this.settings.mmapSize,
      },
    });
    return new ReaderThread(worker);
  }
}
