import type { TokenRecord, TokenRepository } from '../../contract';
import { toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { TOKENS, type TokenRow } from '../tables';

const BY_HASH = `SELECT ${TOKENS.columns} FROM tokens WHERE token_hash = ?`;
const DELETE_FOR_USER = 'DELETE FROM tokens WHERE user_id = ? AND token_hash <> ? RETURNING token_hash';
const OF_USER = `SELECT ${TOKENS.columns} FROM tokens WHERE user_id = ? ORDER BY created_at, token_hash`;
const EXTEND = 'UPDATE tokens SET expires_at = ? WHERE token_hash = ?';

export class SqliteTokenRepository implements TokenRepository {
  constructor(private readonly db: SqliteDb) {}

  create(token: TokenRecord): Promise<void> {
    return settle(() => {
      this.db.run(TOKENS.insert, ...TOKENS.params(token));
    });
  }

  findByHash(tokenHash: string): Promise<TokenRecord | null> {
    return settle(() => {
      const row = this.db.get<TokenRow>(BY_HASH, tokenHash);
      return row ? TOKENS.toRecord(row) : null;
    });
  }

  listForUser(userId: string): Promise<TokenRecord[]> {
    return settle(() => this.db.all<TokenRow>(OF_USER, toId(userId)).map(TOKENS.toRecord));
  }

  extend(token: TokenRecord): Promise<void> {
    return settle(() => {
      this.db.run(EXTEND, token.expiresAt, token.tokenHash);
    });
  }

  delete(tokenHash: string): Promise<void> {
    return settle(() => {
      this.db.run(TOKENS.delete, tokenHash);
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
