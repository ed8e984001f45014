import type { AccountTokenRecord, AccountTokenRepository } from '../../contract';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { ACCOUNT_TOKENS, type AccountTokenRow } from '../tables';

// DELETE ... RETURNING: one statement finds and removes the row, so a token is used at most once.
const CONSUME = `DELETE FROM account_tokens WHERE token_hash = ? RETURNING ${ACCOUNT_TOKENS.columns}`;
// Expired links nobody used: swept when a new one is issued (the index on expires_at keeps it a range read).
const SWEEP = 'DELETE FROM account_tokens WHERE expires_at <= ?';

export class SqliteAccountTokenRepository implements AccountTokenRepository {
  constructor(private readonly db: SqliteDb) {}

  create(token: AccountTokenRecord): Promise<void> {
    return settle(() => {
      this.db.run(SWEEP, Date.now());
      this.db.run(ACCOUNT_TOKENS.insert, ...ACCOUNT_TOKENS.params(token));
    });
  }

  consume(tokenHash: string): Promise<AccountTokenRecord | null> {
    return settle(() => {
      const row = this.db.all<AccountTokenRow>(CONSUME, tokenHash)[0];
      if (!row) return null;
      const token = ACCOUNT_TOKENS.toRecord(row);
      return token.expiresAt > Date.now() ? token : null;
    });
  }
}
