import type { GuildSettingsRecord, GuildSettingsRepository } from '../../contract';
import { toId } from '../codec';
import type { CassandraSession } from '../session';
import { GUILD_SETTINGS } from '../tables';

const COLUMNS = GUILD_SETTINGS.columns;
const FIND = `SELECT ${COLUMNS} FROM user_guild_settings WHERE user_id = ? AND guild_id = ?`;
const LIST = `SELECT ${COLUMNS} FROM user_guild_settings WHERE user_id = ?`;

/** Notification settings in one partition per user, clustered by guild (bounded by the guilds a user joins). */
export class CassandraGuildSettingsRepository implements GuildSettingsRepository {
  constructor(private readonly db: CassandraSession) {}

  async put(settings: GuildSettingsRecord): Promise<void> {
    await this.db.execute('write', GUILD_SETTINGS.insert, GUILD_SETTINGS.params(settings), {
      idempotent: true,
    });
  }

  async find(userId: string, guildId: string): Promise<GuildSettingsRecord | null> {
    const row = (
      await this.db.execute('read', FIND, [toId(userId), toId(guildId)], { idempotent: true })
    ).first();
    return row && row.get(GUILD_SETTINGS.present) !== null ? GUILD_SETTINGS.toRecord(row) : null;
  }

  async list(userId: string): Promise<GuildSettingsRecord[]> {
    const rs = await this.db.execute('read', LIST, [toId(userId)], { idempotent: true });
    return rs.rows.filter((row) => row.get(GUILD_SETTINGS.present) !== null).map(GUILD_SETTINGS.toRecord);
  }

  async delete(userId: string, guildId: string): Promise<void> {
    await this.db.execute('write', GUILD_SETTINGS.delete, [toId(userId), toId(guildId)], {
      idempotent: true,
    });
  }
}
