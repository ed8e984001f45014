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
const DELETE_FOR_USER = 'DELETE FROM tokens WHERE user_id = ? RETURNING token_hash';

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
      if (!row) return null;
      return {
        tokenHash: row.token_hash,
        userId: fromId(row.user_id),
        createdAt: toNumber(row.created_at),
        expiresAt: toNumberOrNull(row.expires_at),
      };
    });
  }

  delete(tokenHash: string): Promise<void> {
    return settle(() => {
      this.db.run(DELETE, tokenHash);
    });
  }

  deleteAllForUser(userId: string): Promise<string[]> {
    return settle(() =>
      this.db.all<{ token_hash: string }>(DELETE_FOR_USER, toId(userId)).map((row) => row.token_hash),
    );
  }
}
