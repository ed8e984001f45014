import type { UserIdentityRecord, UserIdentityRepository } from '../../contract';
import { toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { USER_IDENTITIES, type UserIdentityRow } from '../tables';

const FIND = `SELECT ${USER_IDENTITIES.columns} FROM user_identities WHERE provider = ? AND subject = ?`;
const LIST = `SELECT ${USER_IDENTITIES.columns} FROM user_identities WHERE user_id = ? ORDER BY provider, subject`;
const DELETE_FOR_USER = 'DELETE FROM user_identities WHERE user_id = ?';

/** Single sign-on identities, keyed by (provider, subject): the primary key is the claim. */
export class SqliteUserIdentityRepository implements UserIdentityRepository {
  constructor(private readonly db: SqliteDb) {}

  link(identity: UserIdentityRecord): Promise<boolean> {
    return settle(() => this.db.run(USER_IDENTITIES.insertIfAbsent, ...USER_IDENTITIES.params(identity)) > 0);
  }

  find(provider: string, subject: string): Promise<UserIdentityRecord | null> {
    return settle(() => {
      const row = this.db.get<UserIdentityRow>(FIND, provider, subject);
      return row ? USER_IDENTITIES.toRecord(row) : null;
    });
  }

  listForUser(userId: string): Promise<UserIdentityRecord[]> {
    return settle(() => this.db.all<UserIdentityRow>(LIST, toId(userId)).map(USER_IDENTITIES.toRecord));
  }

  deleteForUser(userId: string): Promise<void> {
    return settle(() => {
      this.db.run(DELETE_FOR_USER, toId(userId));
    });
  }
}
