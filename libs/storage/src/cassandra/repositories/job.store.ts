import type { JobRecord, JobStore } from '../../contract';
import { toTime } from '../codec';
import type { CassandraSession } from '../session';
import { JOBS, type JobState } from '../tables';

const PENDING: JobState = 'pending';
const DEAD: JobState = 'dead';
const COLUMNS = JOBS.columns;
const ALL_PENDING = `SELECT ${COLUMNS} FROM jobs WHERE state = '${PENDING}'`;
const ONE = `SELECT ${COLUMNS} FROM jobs WHERE state = '${PENDING}' AND id = ?`;
const LEASE = `UPDATE jobs SET run_at = ?, attempts = ? WHERE state = '${PENDING}' AND id = ? IF run_at = ? AND attempts = ?`;
const COMPLETE = `DELETE FROM jobs WHERE state = '${PENDING}' AND id = ? IF EXISTS`;
const RETRY = `UPDATE jobs SET run_at = ?, last_error = ? WHERE state = '${PENDING}' AND id = ? IF EXISTS`;
const COUNT = 'SELECT COUNT(*) AS n FROM jobs WHERE state = ?';
const toRecord = JOBS.toRecord;

/**
 * The monolith's durable jobs on Cassandra (microservices use JetStream instead): a 'pending' and a
 * 'dead' partition. A lease is a compare-and-set of run_at/attempts (an LWT), so two workers never
 * hold the same job; the pending partition is read whole to find due jobs, which suits the monolith's
 * small queue (purges, cleanups), not a high-volume work queue.
 */
export class CassandraJobStore implements JobStore {
  constructor(private readonly db: CassandraSession) {}

  async enqueue(job: JobRecord): Promise<void> {
    // Repeating an enqueue (same id) is harmless: the same row again.
    await this.db.execute('write', JOBS.insert, JOBS.params(PENDING, job, undefined), { idempotent: true });
  }

  async claim(now: number, limit: number, leaseMs: number): Promise<JobRecord[]> {
    const due = (await this.db.all(ALL_PENDING, []))
      .map(toRecord)
      .filter((job) => job.runAt <= now)
      .sort((a, b) => a.runAt - b.runAt);
    const claimed: JobRecord[] = [];
    for (const job of due) {
      if (claimed.length >= limit) break;
      const leased = { ...job, runAt: now + leaseMs, attempts: job.attempts + 1 };
      const rs = await this.db.execute(
        'lwt',
        LEASE,
        [toTime(leased.runAt), leased.attempts, job.id, toTime(job.runAt), job.attempts],
        { idempotent: false },
      );
      if (rs.wasApplied()) claimed.push(leased);
    }
    return claimed;
  }

  async complete(id: string): Promise<void> {
    await this.db.execute('lwt', COMPLETE, [id], { idempotent: false });
  }

  async fail(id: string, error: string, retryAt: number | null): Promise<void> {
    if (retryAt !== null) {
      await this.db.execute('lwt', RETRY, [toTime(retryAt), error, id], { idempotent: false });
      return;
    }
    const row = (await this.db.execute('serialRead', ONE, [id], { idempotent: true })).first();
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
    const [pending, dead] = await Promise.all([count(PENDING), count(DEAD)]);
    return { pending, dead };
  }
}
