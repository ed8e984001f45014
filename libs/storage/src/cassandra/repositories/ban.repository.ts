import type { types } from 'cassandra-driver';
import type { BanRecord, BanRepository, Page } from '../../contract';
import { fromId, fromTime, strOrNull, toId, toTime } from '../codec';
import type { CassandraSession } from '../session';

const COLUMNS = 'guild_id, user_id, reason, created_at';
const PUT = `INSERT INTO bans (${COLUMNS}) VALUES (?, ?, ?, ?)`;
const FIND = `SELECT ${COLUMNS} FROM bans WHERE guild_id = ? AND user_id = ?`;
const PAGE_FIRST = `SELECT ${COLUMNS} FROM bans WHERE guild_id = ? LIMIT ?`;
const PAGE_AFTER = `SELECT ${COLUMNS} FROM bans WHERE guild_id = ? AND user_id > ? LIMIT ?`;
const DELETE = 'DELETE FROM bans WHERE guild_id = ? AND user_id = ?';

export function toRecord(row: types.Row): BanRecord {
  return {
    guildId: fromId(row.get('guild_id')),
    userId: fromId(row.get('user_id')),
    reason: strOrNull(row, 'reason') || null,
    createdAt: fromTime(row.get('created_at')),
  };
}

/** Bans in one partition per guild, clustered by user id. */
export class CassandraBanRepository implements BanRepository {
  constructor(private readonly db: CassandraSession) {}

  async put(ban: BanRecord): Promise<void> {
    // No reason is stored as '' (not null): a replaced ban loses its old reason without a tombstone.
    const reason = ban.reason ?? '';
    await this.db.execute(
      'write',
      PUT,
      [toId(ban.guildId), toId(ban.userId), reason, toTime(ban.createdAt)],
      {
        idempotent: true,
      },
    );
  }

  async find(guildId: string, userId: string): Promise<BanRecord | null> {
    const row = (
      await this.db.execute('read', FIND, [toId(guildId), toId(userId)], { idempotent: true })
    ).first();
    return row && row.get('created_at') !== null ? toRecord(row) : null;
  }

  async list(guildId: string, page: Page): Promise<BanRecord[]> {
    const limit = Math.max(1, page.limit);
    const rs =
      page.after === undefined
        ? await this.db.execute('read', PAGE_FIRST, [toId(guildId), limit], { idempotent: true })
        : await this.db.execute('read', PAGE_AFTER, [toId(guildId), toId(page.after), limit], {
            idempotent: true,
          });
    return rs.rows.map(toRecord);
  }

  async delete(guildId: string, userId: string): Promise<void> {
    await this.db.execute('write', DELETE, [toId(guildId), toId(userId)], { idempotent: true });
  }
}
