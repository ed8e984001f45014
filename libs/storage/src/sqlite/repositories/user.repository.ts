import type { UserRecord, UserRepository } from '../../contract';
import { patchParams, patchSet, toFlag, toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { backupCodesText, USERS, type UserRow } from '../tables';

const BY_ID = `SELECT ${USERS.read} FROM users WHERE id = ?`;
const BY_USERNAME = `SELECT ${USERS.read} FROM users WHERE username_lower = ?`;
const BY_EMAIL = `SELECT ${USERS.read} FROM users WHERE email = ?`;
const UPDATE = `UPDATE users SET ${patchSet(['username', 'username_lower', 'email', 'display_name', 'avatar', 'password_hash', 'app_flags', 'email_verified'])}
  WHERE id = @id`;

// `IS`, not `=`: it also matches null (2FA off, no codes left).
const SET_MFA = 'UPDATE users SET mfa_secret = ?, mfa_backup_codes = ? WHERE id = ? AND mfa_secret IS ?';
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
    return settle(() => ids.map((id) => this.byId(toId(id))).filter((user) => user !== null));
  }

  findByLogin(usernameOrEmail: string): Promise<UserRecord | null> {
    return settle(() => {
      const key = usernameOrEmail.toLowerCase();
      const row = this.db.get<UserRow>(BY_USERNAME, key) ?? this.db.get<UserRow>(BY_EMAIL, key);
      return row ? USERS.toRecord(row) : null;
    });
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

  private byId(id: bigint): UserRecord | null {
    const row = this.db.get<UserRow>(BY_ID, id);
    return row ? USERS.toRecord(row) : null;
  }
}
