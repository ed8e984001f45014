import type { AccountTokenRecord, AccountTokenRepository } from '../../contract';
import type { CassandraSession } from '../session';
import { ACCOUNT_TOKENS } from '../tables';

/** Single-use mailed tokens: rows with a TTL of their lifetime, used up by a lightweight transaction. */
export class CassandraAccountTokenRepository implements AccountTokenRepository {
  constructor(private readonly db: CassandraSession) {}

  async create(token: AccountTokenRecord): Promise<void> {
    await this.db.execute('write', ACCOUNT_TOKENS.insert, ACCOUNT_TOKENS.params(token), { idempotent: true });
  }

  async consume(tokenHash: string): Promise<AccountTokenRecord | null> {
    const row = (
      await this.db.execute('read', ACCOUNT_TOKENS.find, [tokenHash], { idempotent: true })
    ).first();
    if (!row) return null;
    // Of two concurrent uses that both read the row, only one delete is applied: the other gets nothing.
    const rs = await this.db.execute('lwt', ACCOUNT_TOKENS.consume, [tokenHash], { idempotent: false });
    if (!rs.wasApplied()) return null;
    const token = ACCOUNT_TOKENS.toRecord(row);
    return token.expiresAt > Date.now() ? token : null;
  }
}
