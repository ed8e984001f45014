import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ParleyConfig } from '@parley/config';
import type { Param } from './codec';

export type SqliteSettings = ParleyConfig['database']['sqlite'];

const SYNCHRONOUS = new Set(['OFF', 'NORMAL', 'FULL', 'EXTRA']);

function integer(name: string, value: number): number {
  // Pragmas take no bound parameters, so refuse anything that is not a plain integer before interpolating.
  if (!Number.isSafeInteger(value)) throw new RangeError(`database.sqlite.${name} must be an integer`);
  return value;
}

export function isInMemory(path: string): boolean {
  return path === ':memory:' || path.startsWith('file::memory:');
}

/**
 * Opens the writer connection with the configured knobs as real settings:
 * - journal_mode=WAL: readers (the worker pool) never block the writer and vice versa.
 * - synchronous: NORMAL fsyncs the WAL only at checkpoints (a commit survives a process crash, the
 *   last commits may roll back on power loss); FULL fsyncs every commit; OFF leaves it to the OS.
 * - busy_timeout: 0 on this connection once opened (`awaitLocksAsynchronously`): a write that finds another
 *   connection's lock fails at once and is retried asynchronously (errors.ts `settle`, message-writer.ts) for up
 *   to the configured busy_timeout, so a held lock never stalls the event loop.
 * - cache_size: pages (positive) or KiB (negative) of page cache per connection.
 * - mmap_size: bytes of the file read through mmap instead of read().
 * - wal_autocheckpoint: WAL pages before a checkpoint folds it back into the database.
 * Foreign keys stay off: the schema declares none, because guild and channel deletes leave messages
 * to a background purge job, which enforced references would forbid.
 */
export function openWriter(settings: SqliteSettings): Database.Database {
  if (!SYNCHRONOUS.has(settings.synchronous)) throw new RangeError('database.sqlite.synchronous is invalid');
  if (!isInMemory(settings.path)) mkdirSync(dirname(settings.path), { recursive: true });
  const db = new Database(settings.path, { timeout: integer('busy_timeout', settings.busy_timeout) });
  db.defaultSafeIntegers(true);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${settings.synchronous}`);
  db.pragma(`busy_timeout = ${integer('busy_timeout', settings.busy_timeout)}`);
  db.pragma(`cache_size = ${integer('cache_size', settings.cache_size)}`);
  db.pragma(`mmap_size = ${integer('mmap_size', settings.mmap_size)}`);
  db.pragma(`wal_autocheckpoint = ${integer('wal_autocheckpoint', settings.wal_autocheckpoint)}`);
  db.pragma('foreign_keys = OFF');
  return db;
}

/**
 * Writes made by every writer connection of this process so far (statements that change rows, and committed
 * transactions). Repositories' work is synchronous, so comparing the count before and after a piece of work tells
 * whether that work wrote anything: work that failed with SQLITE_BUSY before writing is safe to run again.
 */
let writes = 0;
export const writesSoFar = (): number => writes;

/** How long a write keeps retrying (asynchronously) while another connection holds the lock: busy_timeout. */
let busyBudgetMs = 5000;
export const busyBudget = (): number => busyBudgetMs;

/** Makes the writer give up a lock wait at once (busy_timeout 0); `settle` and the message writer retry. */
export function awaitLocksAsynchronously(db: SqliteDb, budgetMs: number): void {
  busyBudgetMs = budgetMs;
  db.raw.pragma('busy_timeout = 0');
}

export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

// Positional values, or one object for `@name` parameters.
type Bind = (Param | Record<string, Param>)[];

/** The writer connection with a statement cache: each SQL text is prepared once, on first use. */
export class SqliteDb {
  private readonly statements = new Map<string, Database.Statement<Bind>>();

  constructor(readonly raw: Database.Database) {}

  statement<R>(sql: string): Database.Statement<Bind, R> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.raw.prepare<Bind>(sql);
      this.statements.set(sql, statement);
    }
    return statement as Database.Statement<Bind, R>;
  }

  get<R>(sql: string, ...params: Bind): R | undefined {
    return this.statement<R>(sql).get(...params);
  }

  all<R>(sql: string, ...params: Bind): R[] {
    return this.statement<R>(sql).all(...params);
  }

  run(sql: string, ...params: Bind): number {
    const statement = this.statement(sql);
    const changes = statement.run(...params).changes;
    if (!statement.readonly) writes++;
    return changes;
  }

  /**
   * Runs `fn` with the writer waiting for locks synchronously (busy_timeout as configured): for work that runs
   * before the process serves anything (schema migrations at start), where a multi-step write cannot be re-run.
   */
  blocking<T>(fn: () => T): T {
    const waits = this.raw.pragma('busy_timeout', { simple: true }) as number | bigint;
    if (Number(waits) !== 0) return fn();
    this.raw.pragma(`busy_timeout = ${busyBudgetMs}`);
    try {
      return fn();
    } finally {
      this.raw.pragma('busy_timeout = 0');
    }
  }

  /** BEGIN IMMEDIATE: takes the write lock up front so a read-then-write never fails half way with SQLITE_BUSY. */
  transaction<T>(fn: () => T): T {
    const result = this.raw.transaction(fn).immediate();
    writes++;
    return result;
  }
}
