import type { BanRecord, BanRepository, Page } from '../../contract';
import { toId } from '../codec';
import type { CassandraSession } from '../session';
import { BANS } from '../tables';

const COLUMNS = BANS.columns;
const FIND = `SELECT ${COLUMNS} FROM bans WHERE guild_id = ? AND user_id = ?`;
const PAGE_FIRST = `SELECT ${COLUMNS} FROM bans WHERE guild_id = ? LIMIT ?`;
const PAGE_AFTER = `SELECT ${COLUMNS} FROM bans WHERE guild_id = ? AND user_id > ? LIMIT ?`;
const toRecord = BANS.toRecord;

/** Bans in one partition per guild, clustered by user id. */
export class CassandraBanRepository implements BanRepository {
  constructor(private readonly db: CassandraSession) {}

  async put(ban: BanRecord): Promise<void> {
    await this.db.execute('write', BANS.insert, BANS.params(ban), { idempotent: true });
  }

  async find(guildId: string, userId: string): Promise<BanRecord | null> {
    const row = (
      await this.db.execute('read', FIND, [toId(guildId), toId(userId)], { idempotent: true })
    ).first();
    return row && row.get(BANS.present) !== null ? toRecord(row) : null;
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
    await this.db.execute('write', BANS.delete, [toId(guildId), toId(userId)], { idempotent: true });
  }
}
