import type { TokenRecord, TokenRepository } from '../../contract';
import { fromId, toId, toNumber, toNumberOrNull } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';

export interface TokenRow {
  token_hash: string;
  user_id: bigint;
  created_at: bigint;
  expires_at: bigint | null;
}

const INSERT = 'INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)';
const BY_HASH = 'SELECT token_hash, user_id, created_at, expires_at FROM tokens WHERE token_hash = ?';
const DELETE = 'DELETE FROM tokens WHERE token_hash = ?';
const DELETE_FOR_USER = 'DELETE FROM tokens WHERE user_id = ? AND token_hash <> ? RETURNING token_hash';
const OF_USER =
  'SELECT token_hash, user_id, created_at, expires_at FROM tokens WHERE user_id = ? ORDER BY created_at, token_hash';
const EXTEND = 'UPDATE tokens SET expires_at = ? WHERE token_hash = ?';

export class SqliteTokenRepository implements TokenRepository {
  constructor(private readonly db: SqliteDb) {}

  create(token: TokenRecord): Promise<void> {
    return settle(() => {
      this.db.run(INSERT, token.tokenHash, toId(token.userId), token.createdAt, token.expiresAt);
    });
  }

  findByHash(tokenHash: string): Promise<TokenRecord | null> {
    return settle(() => {
      const row = this.db.get<TokenRow>(BY_HASH, tokenHash);
      return row ? fromRow(row) : null;
    });
  }

  listForUser(userId: string): Promise<TokenRecord[]> {
    return settle(() => this.db.all<TokenRow>(OF_USER, toId(userId)).map(fromRow));
  }

  extend(token: TokenRecord): Promise<void> {
    return settle(() => {
      this.db.run(EXTEND, token.expiresAt, token.tokenHash);
    });
  }

  delete(tokenHash: string): Promise<void> {
    return settle(() => {
      this.db.run(DELETE, tokenHash);
    });
  }

  deleteAllForUser(userId: string, exceptHash = ''): Promise<string[]> {
    return settle(() =>
      this.db
        .all<{ token_hash: string }>(DELETE_FOR_USER, toId(userId), exceptHash)
        .map((row) => row.token_hash),
    );
  }
}

function fromRow(row: TokenRow): TokenRecord {
  return {
    tokenHash: row.token_hash,
    userId: fromId(row.user_id),
    createdAt: toNumber(row.created_at),
    expiresAt: toNumberOrNull(row.expires_at),
  };
}
