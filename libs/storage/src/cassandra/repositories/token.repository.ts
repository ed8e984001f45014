import type { TokenRecord, TokenRepository } from '../../contract';
import { fromId, fromTime, fromTimeOrNull, toId, toTime, toTimeOrUnset } from '../codec';
import type { types } from 'cassandra-driver';
import type { CassandraSession } from '../session';

const INSERT =
  'INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?) USING TTL ?';
const INSERT_BY_USER = 'INSERT INTO tokens_by_user (user_id, token_hash) VALUES (?, ?) USING TTL ?';
const FIND = 'SELECT token_hash, user_id, created_at, expires_at FROM tokens WHERE token_hash = ?';
const DELETE = 'DELETE FROM tokens WHERE token_hash = ?';
const DELETE_BY_USER = 'DELETE FROM tokens_by_user WHERE user_id = ? AND token_hash = ?';
const OF_USER = 'SELECT token_hash FROM tokens_by_user WHERE user_id = ?';
const FIND_MANY = 'SELECT token_hash, user_id, created_at, expires_at FROM tokens WHERE token_hash IN ?';

// Revoking hundreds of sessions in one logged batch passes the batch size limit: delete in chunks instead.
const CHUNK = 50;

// Rows outlive the expiry by a day: the auth service refuses expired tokens itself, the TTL only cleans up.
const TTL_GRACE_S = 24 * 60 * 60;

/** Seconds the rows live, or 0 (no TTL) for a token that never expires. */
export function ttl(expiresAt: number | null): number {
  if (expiresAt === null) return 0;
  return Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000)) + TTL_GRACE_S;
}

/** Tokens by hash (read on every request) and by user (for revoking them all); expiring rows carry a TTL. */
export class CassandraTokenRepository implements TokenRepository {
  constructor(private readonly db: CassandraSession) {}

  async create(token: TokenRecord): Promise<void> {
    const seconds = ttl(token.expiresAt);
    await this.db.batch(
      [
        {
          query: INSERT,
          params: [
            token.tokenHash,
            toId(token.userId),
            toTime(token.createdAt),
            toTimeOrUnset(token.expiresAt),
            seconds,
          ],
        },
        { query: INSERT_BY_USER, params: [toId(token.userId), token.tokenHash, seconds] },
      ],
      true,
    );
  }

  async findByHash(tokenHash: string): Promise<TokenRecord | null> {
    const row = (await this.db.execute('read', FIND, [tokenHash], { idempotent: true })).first();
    return row ? fromRow(row) : null;
  }

  async listForUser(userId: string): Promise<TokenRecord[]> {
    const hashes = (await this.db.all(OF_USER, [toId(userId)])).map((row) => row.get('token_hash') as string);
    const tokens: TokenRecord[] = [];
    for (let i = 0; i < hashes.length; i += CHUNK) {
      const rows = await this.db.all(FIND_MANY, [hashes.slice(i, i + CHUNK)]);
      tokens.push(...rows.map(fromRow));
    }
    return tokens.sort((a, b) => a.createdAt - b.createdAt || (a.tokenHash < b.tokenHash ? -1 : 1));
  }

  async extend(token: TokenRecord): Promise<void> {
    // Only a token still there: re-inserting one deleted by a logout meanwhile would bring it back.
    if (!(await this.findByHash(token.tokenHash))) return;
    await this.create(token);
  }

  async delete(tokenHash: string): Promise<void> {
    const token = await this.findByHash(tokenHash);
    const statements = [{ query: DELETE, params: [tokenHash] as unknown[] }];
    if (token) statements.push({ query: DELETE_BY_USER, params: [toId(token.userId), tokenHash] });
    await this.db.batch(statements, true);
  }

  async deleteAllForUser(userId: string, exceptHash?: string): Promise<string[]> {
    const id = toId(userId);
    const hashes = (await this.db.all(OF_USER, [id]))
      .map((row) => row.get('token_hash') as string)
      .filter((hash) => hash !== exceptHash);
    for (let i = 0; i < hashes.length; i += CHUNK) {
      const chunk = hashes.slice(i, i + CHUNK);
      await this.db.batch(
        chunk.flatMap((hash) => [
          { query: DELETE, params: [hash] as unknown[] },
          { query: DELETE_BY_USER, params: [id, hash] as unknown[] },
        ]),
        true,
      );
    }
    return hashes;
  }
}

function fromRow(row: types.Row): TokenRecord {
  return {
    tokenHash: row.get('token_hash') as string,
    userId: fromId(row.get('user_id')),
    createdAt: fromTime(row.get('created_at')),
    expiresAt: fromTimeOrNull(row.get('expires_at')),
  };
}
