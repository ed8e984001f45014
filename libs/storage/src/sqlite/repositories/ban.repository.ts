import type { BanRecord, BanRepository, Page } from '../../contract';
import { fromId, pageStart, toId, toNumber, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';

export interface BanRow {
  guild_id: bigint;
  user_id: bigint;
  reason: string | null;
  created_at: bigint;
}

const COLUMNS = 'guild_id, user_id, reason, created_at';
const PUT = `INSERT INTO bans (${COLUMNS}) VALUES (?, ?, ?, ?)
  ON CONFLICT (guild_id, user_id) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at`;
const FIND = `SELECT ${COLUMNS} FROM bans WHERE guild_id = ? AND user_id = ?`;
const LIST = `SELECT ${COLUMNS} FROM bans WHERE guild_id = ? AND user_id > ? ORDER BY user_id LIMIT ?`;
const DELETE = 'DELETE FROM bans WHERE guild_id = ? AND user_id = ?';

export function toRecord(row: BanRow): BanRecord {
  return {
    guildId: fromId(row.guild_id),
    userId: fromId(row.user_id),
    reason: row.reason,
    createdAt: toNumber(row.created_at),
  };
}

export class SqliteBanRepository implements BanRepository {
  constructor(private readonly db: SqliteDb) {}

  put(ban: BanRecord): Promise<void> {
    return settle(() => {
      this.db.run(PUT, toId(ban.guildId), toId(ban.userId), ban.reason, ban.createdAt);
    });
  }

  find(guildId: string, userId: string): Promise<BanRecord | null> {
    return settle(() => {
      const row = this.db.get<BanRow>(FIND, toId(guildId), toId(userId));
      return row ? toRecord(row) : null;
    });
  }

  list(guildId: string, page: Page): Promise<BanRecord[]> {
    return settle(() =>
      this.db.all<BanRow>(LIST, toId(guildId), pageStart(page.after), toLimit(page.limit)).map(toRecord),
    );
  }

  delete(guildId: string, userId: string): Promise<void> {
    return settle(() => {
      this.db.run(DELETE, toId(guildId), toId(userId));
    });
  }
}
