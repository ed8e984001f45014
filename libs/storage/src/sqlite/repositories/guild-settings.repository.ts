import type { GuildSettingsRecord, GuildSettingsRepository } from '../../contract';
import { toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { GUILD_SETTINGS, type GuildSettingsRow } from '../tables';

const FIND = `SELECT ${GUILD_SETTINGS.columns} FROM user_guild_settings WHERE user_id = ? AND guild_id = ?`;
const LIST = `SELECT ${GUILD_SETTINGS.columns} FROM user_guild_settings WHERE user_id = ? ORDER BY guild_id`;

/** Notification settings, keyed by (user, guild). */
export class SqliteGuildSettingsRepository implements GuildSettingsRepository {
  constructor(private readonly db: SqliteDb) {}

  put(settings: GuildSettingsRecord): Promise<void> {
    return settle(() => {
      this.db.run(GUILD_SETTINGS.upsert, ...GUILD_SETTINGS.params(settings));
    });
  }

  find(userId: string, guildId: string): Promise<GuildSettingsRecord | null> {
    return settle(() => {
      const row = this.db.get<GuildSettingsRow>(FIND, toId(userId), toId(guildId));
      return row ? GUILD_SETTINGS.toRecord(row) : null;
    });
  }

  list(userId: string): Promise<GuildSettingsRecord[]> {
    return settle(() => this.db.all<GuildSettingsRow>(LIST, toId(userId)).map(GUILD_SETTINGS.toRecord));
  }

  delete(userId: string, guildId: string): Promise<void> {
    return settle(() => {
      this.db.run(GUILD_SETTINGS.delete, toId(userId), toId(guildId));
    });
  }
}
