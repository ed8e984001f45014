import type { UserRecord, UserRepository } from '../../contract';
import { fromId, patchParams, patchSet, toId, toNumber } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';

export interface UserRow {
  id: bigint;
  username: string;
  email: string;
  display_name: string | null;
  avatar: string | null;
  password_hash: string;
  created_at: bigint;
}

const COLUMNS = 'id, username, email, display_name, avatar, password_hash, created_at';
const INSERT = `INSERT INTO users (id, username, username_lower, email, display_name, avatar, password_hash, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
const BY_ID = `SELECT ${COLUMNS} FROM users WHERE id = ?`;
const BY_USERNAME = `SELECT ${COLUMNS} FROM users WHERE username_lower = ?`;
const BY_EMAIL = `SELECT ${COLUMNS} FROM users WHERE email = ?`;
const UPDATE = `UPDATE users SET ${patchSet(['username', 'username_lower', 'email', 'display_name', 'avatar', 'password_hash'])}
  WHERE id = @id`;

export function toRecord(row: UserRow): UserRecord {
  return {
    id: fromId(row.id),
    username: row.username,
    email: row.email,
    displayName: row.display_name,
    avatar: row.avatar,
    passwordHash: row.password_hash,
    createdAt: toNumber(row.created_at),
  };
}

/** Username and email uniqueness are the UNIQUE indexes on username_lower and email. */
export class SqliteUserRepository implements UserRepository {
  constructor(private readonly db: SqliteDb) {}

  create(user: UserRecord): Promise<void> {
    return settle(() => {
      this.db.run(
        INSERT,
        toId(user.id),
        user.username,
        user.username.toLowerCase(),
        user.email.toLowerCase(),
        user.displayName,
        user.avatar,
        user.passwordHash,
        user.createdAt,
      );
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
      return row ? toRecord(row) : null;
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
        }),
      });
    });
  }

  private byId(id: bigint): UserRecord | null {
    const row = this.db.get<UserRow>(BY_ID, id);
    return row ? toRecord(row) : null;
  }
}
