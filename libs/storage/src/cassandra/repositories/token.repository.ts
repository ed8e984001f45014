import type { TokenRecord, TokenRepository } from '../../contract';
import { toId } from '../codec';
import type { CassandraSession } from '../session';
import { TOKENS } from '../tables';

const FIND = `SELECT ${TOKENS.columns} FROM tokens WHERE token_hash = ?`;
const OF_USER = 'SELECT token_hash FROM tokens_by_user WHERE user_id = ?';
const FIND_MANY = `SELECT ${TOKENS.columns} FROM tokens WHERE token_hash IN ?`;

// Revoking hundreds of sessions in one logged batch passes the batch size limit: delete in chunks instead.
const CHUNK = 50;

/** Tokens by hash (read on every request) and by user (for revoking them all); expiring rows carry a TTL. */
export class CassandraTokenRepository implements TokenRepository {
  constructor(private readonly db: CassandraSession) {}

  async create(token: TokenRecord): Promise<void> {
    await this.db.batch(TOKENS.writes(token, undefined), true);
  }

  async findByHash(tokenHash: string): Promise<TokenRecord | null> {
    const row = (await this.db.execute('read', FIND, [tokenHash], { idempotent: true })).first();
    return row ? TOKENS.toRecord(row) : null;
  }

  async listForUser(userId: string): Promise<TokenRecord[]> {
    const hashes = (await this.db.all(OF_USER, [toId(userId)])).map((row) => row.get('token_hash') as string);
    const tokens: TokenRecord[] = [];
    for (let i = 0; i < hashes.length; i += CHUNK) {
      const rows = await this.db.all(FIND_MANY, [hashes.slice(i, i + CHUNK)]);
      tokens.push(...rows.map(TOKENS.toRecord));
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
    await this.db.batch(
      token ? TOKENS.removes(tokenHash, toId(token.userId)) : [{ query: TOKENS.delete, params: [tokenHash] }],
      true,
    );
  }

  async deleteAllForUser(userId: string, exceptHash?: string): Promise<string[]> {
    const id = toId(userId);
    const hashes = (await this.db.all(OF_USER, [id]))
      .map((row) => row.get('token_hash') as string)
      .filter((hash) => hash !== exceptHash);
    for (let i = 0; i < hashes.length; i += CHUNK)
      await this.db.batch(
        hashes.slice(i, i + CHUNK).flatMap((hash) => TOKENS.removes(hash, id)),
        true,
      );
    return hashes;
  }
}
