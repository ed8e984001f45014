import type { BanPage, BanRecord, BanRepository } from '../../contract';
import { pageStart, toId, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { BANS, type BanRow } from '../tables';

const FIND = `SELECT ${BANS.columns} FROM bans WHERE guild_id = ? AND user_id = ?`;
const LIST = `SELECT ${BANS.columns} FROM bans WHERE guild_id = ? AND user_id > ? ORDER BY user_id LIMIT ?`;
// The `limit` just below `before`, read backwards along the primary key and answered ascending.
const LIST_BEFORE = `SELECT ${BANS.columns} FROM bans WHERE guild_id = ? AND user_id < ? ORDER BY user_id DESC LIMIT ?`;
const toRecord = BANS.toRecord;

export class SqliteBanRepository implements BanRepository {
  constructor(private readonly db: SqliteDb) {}

  put(ban: BanRecord): Promise<void> {
    return settle(() => {
      this.db.run(BANS.upsert, ...BANS.params(ban));
    });
  }

  find(guildId: string, userId: string): Promise<BanRecord | null> {
    return settle(() => {
      const row = this.db.get<BanRow>(FIND, toId(guildId), toId(userId));
      return row ? toRecord(row) : null;
    });
  }

  list(guildId: string, page: BanPage): Promise<BanRecord[]> {
    return settle(() =>
      page.before === undefined
        ? this.db.all<BanRow>(LIST, toId(guildId), pageStart(page.after), toLimit(page.limit)).map(toRecord)
        : this.db
            .all<BanRow>(LIST_BEFORE, toId(guildId), toId(page.before), toLimit(page.limit))
            .map(toRecord)
            .reverse(),
    );
  }

  delete(guildId: string, userId: string): Promise<void> {
    return settle(() => {
      this.db.run(BANS.delete, toId(guildId), toId(userId));
    });
  }
}
