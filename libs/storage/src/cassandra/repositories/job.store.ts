import type { JobRecord, JobStore } from '../../contract';
import type { types } from 'cassandra-driver';
import { mapLimit, toTime } from '../codec';
import type { CassandraSession } from '../session';
import { JOBS, type JobState } from '../tables';

const LEGACY: JobState = 'pending';
const DEAD: JobState = 'dead';
const COLUMNS = JOBS.columns;
const PARTITION = `SELECT ${COLUMNS} FROM jobs WHERE state = ?`;
const ONE = `SELECT ${COLUMNS} FROM jobs WHERE state = ? AND id = ?`;
const LEASE =
  'UPDATE jobs SET run_at = ?, attempts = ? WHERE state = ? AND id = ? IF run_at = ? AND attempts = ?';
const COMPLETE = 'DELETE FROM jobs WHERE state = ? AND id = ? IF EXISTS';
const RETRY = 'UPDATE jobs SET run_at = ?, last_error = ? WHERE state = ? AND id = ? IF EXISTS';
const COUNT = 'SELECT COUNT(*) AS n FROM jobs WHERE state = ?';
/** The poller's watermark: a row of its own partition, without a name (so no scan takes it for a job). */
const WATERMARK_STATE = 'watermark';
const WATERMARK_READ = `SELECT attempts FROM jobs WHERE state = '${WATERMARK_STATE}' AND id = 'queue'`;
const WATERMARK_WRITE = `INSERT INTO jobs (state, id, attempts) VALUES ('${WATERMARK_STATE}', 'queue', ?) USING TIMESTAMP ?`;
const toRecord = JOBS.toRecord;

/** A job's partition holds the jobs queued in one minute. */
const MINUTE_MS = 60_000;
/** Minutes behind the present the watermark never passes: a job queued just before a minute turned still lands. */
const SETTLE_MINUTES = 2;
/**
 * Minutes one claim reads from the watermark on, at most: a process back after a long pause catches up in steps,
 * and a job waiting for a retry an hour away costs each claim this many small reads until it runs.
 */
const CATCH_UP_MINUTES = 60;
const minuteOf = (ms: number): number => Math.floor(ms / MINUTE_MS);
const pendingIn = (minute: number): JobState => `pending:${minute}`;

/**
 * The monolith's durable jobs on Cassandra (microservices use JetStream instead). A queued job is a row of the
 * partition of the minute it was queued in (`pending:<minute>`, two-week TTL), so a claim reads only the minutes
 * from the watermark to now, never a partition that grows with the queue's history, and the tombstones that
 * completed jobs leave stay in minutes no claim reads again. The watermark is the oldest minute that may still
 * hold a job: a claim moves it past minutes it read empty (never closer than two minutes to now). A job that is
 * retried or leased stays in its minute (which holds the watermark there until it completes or dies). A lease is a
 * compare-and-set of run_at/attempts (an LWT), so two workers never hold the same job. Jobs of the 'pending'
 * partition (queued before migration 0047, or by `parley import`) are drained as before until it is empty.
 */
export class CassandraJobStore implements JobStore {
  /** The partition of each job this process leased (complete/fail name only the id). */
  private readonly leased = new Map<string, JobState>();
  private watermark: number | null = null;
  private legacyDrained = false;

  constructor(private readonly db: CassandraSession) {}

  async enqueue(job: JobRecord): Promise<void> {
    // Repeating an enqueue (same id) is harmless within a minute; across a minute it is a second row, run twice
    // at most, as with every at-least-once queue.
    const { query, params } = this.enqueueStatement(job);
    await this.db.execute('write', query, params, { idempotent: true });
  }

  /** The statement that queues `job` (also written beside a message by messages.create). */
  enqueueStatement(job: JobRecord): { query: string; params: unknown[] } {
    return { query: JOBS.enqueue, params: JOBS.params(pendingIn(minuteOf(Date.now())), job, undefined) };
  }

  async claim(now: number, limit: number, leaseMs: number): Promise<JobRecord[]> {
    const partitions = await this.duePartitions();
    const due: { job: JobRecord; state: JobState }[] = [];
    for (const { state, rows } of partitions)
      for (const row of rows) {
        const job = toRecord(row);
        if (job.runAt <= now) due.push({ job, state });
      }
    due.sort((a, b) => a.job.runAt - b.job.runAt);
    const claimed: JobRecord[] = [];
    for (const { job, state } of due) {
      if (claimed.length >= limit) break;
      const leased = { ...job, runAt: now + leaseMs, attempts: job.attempts + 1 };
      const rs = await this.db.execute(
        'lwt',
        LEASE,
        [toTime(leased.runAt), leased.attempts, state, job.id, toTime(job.runAt), job.attempts],
        { idempotent: false },
      );
      if (!rs.wasApplied()) continue;
      this.leased.set(job.id, state);
      claimed.push(leased);
    }
    return claimed;
  }

  async complete(id: string): Promise<void> {
    await this.db.execute('lwt', COMPLETE, [this.leased.get(id) ?? LEGACY, id], { idempotent: false });
    this.leased.delete(id);
  }

  async fail(id: string, error: string, retryAt: number | null): Promise<void> {
    const state = this.leased.get(id) ?? LEGACY;
    if (retryAt !== null) {
      await this.db.execute('lwt', RETRY, [toTime(retryAt), error, state, id], { idempotent: false });
      return;
    }
    const row = (await this.db.execute('serialRead', ONE, [state, id], { idempotent: true })).first();
    if (!row) return;
    const job = toRecord(row);
    // Into the dead partition first, then out of pending: a crash in between leaves a duplicate, not a loss.
    await this.db.execute('write', JOBS.insert, JOBS.params(DEAD, { ...job, lastError: error }, undefined), {
      idempotent: true,
    });
    await this.complete(id);
  }

  async counts(): Promise<{ pending: number; dead: number }> {
    const count = async (state: string) =>
      Number(
        ((await this.db.execute('read', COUNT, [state], { idempotent: true })).first()?.get('n') as bigint) ??
          0n,
      );
    const from = await this.readWatermark();
    const minutes: JobState[] = [LEGACY];
    for (let m = from; m <= minuteOf(Date.now()); m++) minutes.push(pendingIn(m));
    const [pending, dead] = await Promise.all([
      Promise.all(minutes.map(count)).then((counts) => counts.reduce((a, b) => a + b, 0)),
      count(DEAD),
    ]);
    return { pending, dead };
  }

  /**
   * The partitions a claim reads: the legacy one until found empty; each minute from the watermark on (at most
   * CATCH_UP_MINUTES of them) and the last SETTLE_MINUTES + 1 minutes. The watermark moves past the leading minutes
   * read empty. Rows without a name (a leased job's cells outliving the rest of its row's TTL) are no jobs.
   */
  private async duePartitions(): Promise<{ state: JobState; rows: types.Row[] }[]> {
    const current = minuteOf(Date.now());
    const from = await this.readWatermark();
    const minutes = new Set<number>();
    for (let m = from; m <= Math.min(current, from + CATCH_UP_MINUTES - 1); m++) minutes.add(m);
    for (let m = Math.max(from, current - SETTLE_MINUTES); m <= current; m++) minutes.add(m);
    const states: JobState[] = [...(this.legacyDrained ? [] : [LEGACY]), ...[...minutes].map(pendingIn)];
    const read = await mapLimit(states, 16, async (state) => ({
      state,
      rows: (await this.db.all(PARTITION, [state], 500)).filter((row) => row.get(JOBS.present) !== null),
    }));
    let next = from;
    for (const { state, rows } of read) {
      if (state === LEGACY) {
        if (rows.length === 0) this.legacyDrained = true;
        continue;
      }
      if (state !== pendingIn(next) || rows.length > 0 || next >= current - SETTLE_MINUTES) break;
      next++;
    }
    if (next > from) await this.writeWatermark(next);
    return read;
  }

  private async readWatermark(): Promise<number> {
    if (this.watermark !== null) return this.watermark;
    const row = (await this.db.execute('read', WATERMARK_READ, [], { idempotent: true })).first();
    const stored = row ? (row.get('attempts') as number | null) : null;
    // No watermark yet: the queue starts now (jobs of before 0047 are in the legacy partition).
    this.watermark = stored ?? minuteOf(Date.now()) - SETTLE_MINUTES;
    return this.watermark;
  }

  /** The greatest minute wins whatever order writes arrive in (the minute is the write timestamp). */
  private async writeWatermark(minute: number): Promise<void> {
    this.watermark = minute;
    await this.db.execute('write', WATERMARK_WRITE, [minute, BigInt(minute)], { idempotent: true });
  }
}
