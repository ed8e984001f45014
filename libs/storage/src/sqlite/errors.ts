import { UniqueViolation } from '../contract';
import { busyBudget, isBusy, writesSoFar } from './connection';

/** Which unique index stands for which uniqueness claim of the contract. */
const CLAIMS: Record<string, UniqueViolation['field']> = {
  'users.username_lower': 'username',
  'users.email': 'email',
  'dm_pairs.user_low': 'dm_pair',
  'invites.code': 'invite_code',
};

/** Turns a unique/primary-key failure on a claim index into UniqueViolation; anything else passes through. */
export function asUniqueViolation(err: unknown): unknown {
  // Duck-typed, not `instanceof SqliteError`: the native add-on keeps the error class of the first module
  // instance that loaded it, so under module registries (Jest) or realms the class identity differs.
  if (!isSqliteError(err)) return err;
  if (err.code !== 'SQLITE_CONSTRAINT_UNIQUE' && err.code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return err;
  // "UNIQUE constraint failed: users.email" or "...: dm_pairs.user_low, dm_pairs.user_high"
  const column = /constraint failed: ([\w.]+)/.exec(err.message)?.[1];
  const field = column === undefined ? undefined : CLAIMS[column];
  return field === undefined ? err : new UniqueViolation(field);
}

function isSqliteError(err: unknown): err is { code: string; message: string } {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { code?: unknown }).code === 'string' &&
    (err as { code: string }).code.startsWith('SQLITE_') &&
    typeof (err as { message?: unknown }).message === 'string'
  );
}

/**
 * better-sqlite3 is synchronous: repositories do the work now and hand back a settled promise, so a
 * failure (constraint, bad id) always arrives as a rejection, never as a throw from the call itself.
 *
 * The writer connection never waits for a lock (busy_timeout 0): work that meets another connection's write lock
 * (SQLITE_BUSY) before it has written anything is run again later, with backoff, for up to busy_timeout, while
 * the event loop serves everything else. The work is synchronous, so "wrote nothing" is exact (no other code ran
 * in between) and running it again has no side effect twice. Work that fails after writing is not retried.
 */
export function settle<T>(work: () => T): Promise<T> {
  const before = writesSoFar();
  try {
    return Promise.resolve(work());
  } catch (err) {
    if (isBusy(err) && writesSoFar() === before) return retryWhileBusy(work, Date.now() + busyBudget());
    // Rejects with the original error object (even one from another realm) so its code and stack survive.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an Error, possibly from another realm
    return Promise.reject(asUniqueViolation(err));
  }
}

/** Longest pause between two attempts at a lock another connection holds. */
const BUSY_BACKOFF_MAX_MS = 50;

async function retryWhileBusy<T>(work: () => T, deadline: number): Promise<T> {
  for (let delay = 1; ; delay = Math.min(delay * 2, BUSY_BACKOFF_MAX_MS)) {
    await new Promise((resolve) => setTimeout(resolve, delay));
    const before = writesSoFar();
    try {
      return work();
    } catch (err) {
      if (!isBusy(err) || writesSoFar() !== before || Date.now() >= deadline) throw asUniqueViolation(err);
    }
  }
}
