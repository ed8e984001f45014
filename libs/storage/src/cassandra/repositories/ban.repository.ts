import type { types } from 'cassandra-driver';
import type { BanPage, BanRecord, BanRepository } from '../../contract';
import { toId } from '../codec';
import type { CassandraSession } from '../session';
import { USER_SHARDS, mergeShards } from '../shards';
import { BANS } from '../tables';

const COLUMNS = BANS.columns;
const SHARD = `SELECT ${COLUMNS} FROM bans_by_shard WHERE guild_id = ? AND shard = ?`;
const FIND = `${SHARD} AND user_id = ?`;
const FIRST = `${SHARD} LIMIT ?`;
const AFTER = `${SHARD} AND user_id > ? LIMIT ?`;
const LAST = `${SHARD} ORDER BY user_id DESC LIMIT ?`;
const BEFORE = `${SHARD} AND user_id < ? ORDER BY user_id DESC LIMIT ?`;
const toRecord = BANS.toRecord;

/**
 * Bans in USER_SHARDS partitions per guild (`bans_by_shard`, by a hash of the user id): a ban check reads one
 * row, and a page (Discord's `limit`, `after`, `before`, in user id order) merges the shards' slices from their
 * cursors, so neither the largest partition nor a page's cost grows with the guild's bans.
 */
export class CassandraBanRepository implements BanRepository {
  constructor(private readonly db: CassandraSession) {}

  async put(ban: BanRecord): Promise<void> {
    await this.db.execute('write', BANS.insert, BANS.params(ban), { idempotent: true });
  }

  async find(guildId: string, userId: string): Promise<BanRecord | null> {
    const row = (
      await this.db.execute('read', FIND, BANS.key(guildId, userId), { idempotent: true })
    ).first();
    return row && row.get(BANS.present) !== null ? toRecord(row) : null;
  }

  async list(guildId: string, page: BanPage): Promise<BanRecord[]> {
    const guild = toId(guildId);
    const descending = page.before !== undefined;
    const rows = await mergeShards<types.Row>({
      shards: USER_SHARDS,
      limit: Math.max(1, page.limit),
      order: descending ? 'desc' : 'asc',
      from:
        page.before !== undefined
          ? toId(page.before)
          : page.after !== undefined
            ? toId(page.after)
            : undefined,
      keyOf: (row) => row.get('user_id') as bigint,
      read: async (shard, cursor, n) => {
        const [query, params] =
          cursor === undefined
            ? [descending ? LAST : FIRST, [guild, shard, n]]
            : [descending ? BEFORE : AFTER, [guild, shard, cursor, n]];
        return (await this.db.execute('read', query, params, { idempotent: true })).rows;
      },
    });
    // Half rows (an update racing a delete) are not bans; a `before` page is still answered ascending.
    const bans = rows.filter((row) => row.get(BANS.present) !== null).map(toRecord);
    return descending ? bans.reverse() : bans;
  }

  async delete(guildId: string, userId: string): Promise<void> {
    await this.db.execute('write', BANS.delete, BANS.key(guildId, userId), { idempotent: true });
  }
}
