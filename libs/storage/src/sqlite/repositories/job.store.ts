import type { JobRecord, JobStore } from '../../contract';
import { toNumber, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { JOB_DEAD as DEAD, JOB_PENDING as PENDING, JOBS, type JobRow } from '../tables';

const DUE = `SELECT id FROM jobs WHERE state = ${PENDING} AND run_at <= ? ORDER BY run_at LIMIT ?`;
const LEASE = `UPDATE jobs SET run_at = ?, attempts = attempts + 1 WHERE id = ?
  RETURNING ${JOBS.read}`;
const RETRY = `UPDATE jobs SET run_at = ?, last_error = ? WHERE id = ?`;
const BURY = `UPDATE jobs SET state = ${DEAD}, last_error = ? WHERE id = ?`;
const COUNT = 'SELECT count(*) AS n FROM jobs WHERE state = ?';

/**
 * A lease is a pushed-back run_at: a worker that dies mid-job leaves it due again once the lease
 * runs out, so jobs are at-least-once and handlers must be idempotent.
 */
export class SqliteJobStore implements JobStore {
  constructor(private readonly db: SqliteDb) {}

  enqueue(job: JobRecord): Promise<void> {
    return settle(() => {
      // A job id is enqueued once: repeating the enqueue (a retried request, a replayed event) is harmless.
      this.db.run(JOBS.insertIfAbsent, ...JOBS.params(job, PENDING));
    });
  }

  claim(now: number, limit: number, leaseMs: number): Promise<JobRecord[]> {
    return settle(() =>
      // IMMEDIATE: two processes claiming at once serialise here instead of leasing the same job.
      this.db.transaction(() =>
        this.db
          .all<{ id: string }>(DUE, now, toLimit(limit))
          .flatMap(({ id }) => this.db.all<JobRow>(LEASE, now + leaseMs, id).map(JOBS.toRecord)),
      ),
    );
  }

  complete(id: string): Promise<void> {
    return settle(() => {
      this.db.run(JOBS.delete, id);
    });
  }

  fail(id: string, error: string, retryAt: number | null): Promise<void> {
    return settle(() => {
      if (retryAt === null) this.db.run(BURY, error, id);
      else this.db.run(RETRY, retryAt, error, id);
    });
  }

  counts(): Promise<{ pending: number; dead: number }> {
    return settle(() => ({
      pending: toNumber(this.db.get<{ n: bigint }>(COUNT, PENDING)?.n ?? 0n),
      dead: toNumber(this.db.get<{ n: bigint }>(COUNT, DEAD)?.n ?? 0n),
    }));
  }
}
