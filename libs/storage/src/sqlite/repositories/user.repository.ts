import type { UserRecord, UserRepository } from '../../contract';
import { fromId, patchParams, patchSet, toFlag, toId, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { backupCodesText, USERS, type UserRow } from '../tables';

const BY_ID = `SELECT ${USERS.read} FROM users WHERE id = ?`;
// A history page's authors in one statement, not one per author (the ids travel as one JSON array).
const BY_IDS = `SELECT ${USERS.read} FROM users WHERE id IN (SELECT value FROM json_each(?))`;
const BY_USERNAME = `SELECT ${USERS.read} FROM users WHERE username_lower = ?`;
const BY_EMAIL = `SELECT ${USERS.read} FROM users WHERE email = ?`;
// Through the partial index users_by_bot_owner (migration 0044).
const BOTS_OF = `SELECT ${USERS.read} FROM users WHERE bot_owner_id = ? ORDER BY id`;
const UPDATE = `UPDATE users SET ${patchSet(['username', 'username_lower', 'email', 'display_name', 'avatar', 'password_hash', 'app_flags', 'email_verified'])}
  WHERE id = @id`;

// `IS`, not `=`: it also matches null (2FA off, no codes left).
const SET_MFA = 'UPDATE users SET mfa_secret = ?, mfa_backup_codes = ? WHERE id = ? AND mfa_secret IS ?';
const SET_FLAGS = `UPDATE users SET ${patchSet(['admin', 'disabled', 'approval_pending'])} WHERE id = @id`;
// Newest first by id (the primary key); the prefix is matched on the lower-cased username and the email.
const SEARCH = `SELECT ${USERS.read} FROM users
  WHERE id < @before AND (username_lower LIKE @pattern ESCAPE '\\' OR email LIKE @pattern ESCAPE '\\')
  ORDER BY id DESC LIMIT @limit`;
// Through the partial index users_approval_pending.
const PENDING = `SELECT ${USERS.read} FROM users WHERE approval_pending = 1 AND id < ? ORDER BY id DESC LIMIT ?`;
const SAMPLE = 'SELECT id FROM users LIMIT ?';
const DELETE = 'DELETE FROM users WHERE id = ?';
/** Above every snowflake: a page from the newest. */
const ABOVE_ALL = 2n ** 63n - 1n;

const REPLACE_CODES = 'UPDATE users SET mfa_backup_codes = ? WHERE id = ? AND mfa_backup_codes IS ?';

/** Username and email uniqueness are the UNIQUE indexes on username_lower and email. */
export class SqliteUserRepository implements UserRepository {
  constructor(private readonly db: SqliteDb) {}

  create(user: UserRecord): Promise<void> {
    return settle(() => {
      this.db.run(USERS.insert, ...USERS.params(user));
    });
  }

  findById(id: string): Promise<UserRecord | null> {
    return settle(() => this.byId(toId(id)));
  }

  findByIds(ids: readonly string[]): Promise<UserRecord[]> {
    return settle(() =>
      ids.length === 0
        ? []
        : this.db
            .all<UserRow>(BY_IDS, `[${ids.map((id) => toId(id).toString()).join(',')}]`)
            .map((row) => USERS.toRecord(row)),
    );
  }

  findByLogin(usernameOrEmail: string): Promise<UserRecord | null> {
    return settle(() => {
      const key = usernameOrEmail.toLowerCase();
      const row = this.db.get<UserRow>(BY_USERNAME, key) ?? this.db.get<UserRow>(BY_EMAIL, key);
      return row ? USERS.toRecord(row) : null;
    });
  }

  listBots(ownerId: string): Promise<UserRecord[]> {
    return settle(() => this.db.all<UserRow>(BOTS_OF, toId(ownerId)).map((row) => USERS.toRecord(row)));
  }

  update(id: string, patch: Parameters<UserRepository['update']>[1]): Promise<void> {
    return settle(() => {
      this.db.run(UPDATE, {
        id: toId(id),
        ...patchParams({
          username: patch.username,
          username_lower: patch.username?.toLowerCase(),
          email: patch.email?.toLowerCase(),
          display_name: patch.displayName,
          avatar: patch.avatar,
          password_hash: patch.passwordHash,
          app_flags: patch.appFlags,
          email_verified: patch.emailVerified === undefined ? undefined : toFlag(patch.emailVerified),
        }),
      });
    });
  }

  setMfa(
    id: string,
    expected: string | null,
    secret: string | null,
    backupCodes: string[],
  ): Promise<boolean> {
    return settle(() => this.db.run(SET_MFA, secret, backupCodesText(backupCodes), toId(id), expected) === 1);
  }

  replaceBackupCodes(id: string, expected: string[], next: string[]): Promise<boolean> {
    return settle(
      () => this.db.run(REPLACE_CODES, backupCodesText(next), toId(id), backupCodesText(expected)) === 1,
    );
  }

  setFlags(id: string, flags: Parameters<UserRepository['setFlags']>[1]): Promise<void> {
    const flag = (value: boolean | undefined) => (value === undefined ? undefined : toFlag(value));
    return settle(() => {
      this.db.run(SET_FLAGS, {
        id: toId(id),
        ...patchParams({
          admin: flag(flags.admin),
          disabled: flag(flags.disabled),
          approval_pending: flag(flags.approvalPending),
        }),
      });
    });
  }

  /** Admin-only: walks the users newest first and filters by the prefix (SQLite reads fast enough for a person). */
  search(
    prefix: string,
    page: { limit: number; cursor: string | null },
  ): Promise<{ users: UserRecord[]; cursor: string | null }> {
    return settle(() => {
      const limit = toLimit(page.limit);
      const rows = this.db.all<UserRow>(SEARCH, {
        before: page.cursor === null ? ABOVE_ALL : toId(page.cursor),
        pattern: `${prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
        limit,
      });
      const users = rows.map(USERS.toRecord);
      return { users, cursor: rows.length === limit ? users[users.length - 1].id : null };
    });
  }

  listPendingApproval(page: { limit: number; before?: string }): Promise<UserRecord[]> {
    return settle(() =>
      this.db
        .all<UserRow>(PENDING, page.before === undefined ? ABOVE_ALL : toId(page.before), toLimit(page.limit))
        .map(USERS.toRecord),
    );
  }

  sampleIds(limit: number): Promise<string[]> {
    return settle(() => this.db.all<{ id: bigint }>(SAMPLE, toLimit(limit)).map((row) => fromId(row.id)));
  }

  delete(id: string): Promise<void> {
    return settle(() => {
      this.db.run(DELETE, toId(id));
    });
  }

  private byId(id: bigint): UserRecord | null {
    const row = this.db.get<UserRow>(BY_ID, id);
    return row ? USERS.toRecord(row) : null;
  }
}
