import Database from 'better-sqlite3';
import { UniqueViolation } from '../contract';

/** Which unique index stands for which uniqueness claim of the contract. */
const CLAIMS: Record<string, UniqueViolation['field']> = {
  'users.username_lower': 'username',
  'users.email': 'email',
  'dm_pairs.user_low': 'dm_pair',
  'invites.code': 'invite_code',
};

/** Turns a unique/primary-key failure on a claim index into UniqueViolation; anything else passes through. */
export function asUniqueViolation(err: unknown): unknown {
  if (!(err instanceof Database.SqliteError)) return err;
  if (err.code !== 'SQLITE_CONSTRAINT_UNIQUE' && err.code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') return err;
  // "UNIQUE constraint failed: users.email" or "...: dm_pairs.user_low, dm_pairs.user_high"
  const column = /constraint failed: ([\w.]+)/.exec(err.message)?.[1];
  const field = column === undefined ? undefined : CLAIMS[column];
  return field === undefined ? err : new UniqueViolation(field);
}

/**
 * better-sqlite3 is synchronous: repositories do the work now and hand back a settled promise, so a
 * failure (constraint, bad id) always arrives as a rejection, never as a throw from the call itself.
 */
export function settle<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (err) {
    const mapped = asUniqueViolation(err);
    return Promise.reject(mapped instanceof Error ? mapped : new Error(String(mapped)));
  }
}
