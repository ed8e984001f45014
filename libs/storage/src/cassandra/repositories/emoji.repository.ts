import type { EmojiPatch, EmojiRecord, EmojiRepository } from '../../contract';
import { toId } from '../codec';
import type { CassandraSession } from '../session';
import { EMOJIS } from '../tables';

const FIND = `SELECT ${EMOJIS.columns} FROM guild_emojis WHERE guild_id = ? AND id = ?`;
const LIST = `SELECT ${EMOJIS.columns} FROM guild_emojis WHERE guild_id = ?`;
const SET_NAME = 'UPDATE guild_emojis SET name = ? WHERE guild_id = ? AND id = ?';
const SET_ROLES = 'UPDATE guild_emojis SET roles = ? WHERE guild_id = ? AND id = ?';

/**
 * A guild's custom emoji in one partition (clustered by id), read whole. Updates are plain writes, never
 * lightweight transactions: a rename racing a delete can leave a row without `animated`, which every read
 * treats as absent (EMOJIS.present), so a deleted emoji never comes back.
 */
export class CassandraEmojiRepository implements EmojiRepository {
  constructor(private readonly db: CassandraSession) {}

  async create(emoji: EmojiRecord): Promise<void> {
    await this.db.execute('write', EMOJIS.insert, EMOJIS.params(emoji), { idempotent: true });
  }

  async find(guildId: string, emojiId: string): Promise<EmojiRecord | null> {
    const row = (
      await this.db.execute('read', FIND, [toId(guildId), toId(emojiId)], { idempotent: true })
    ).first();
    return row && row.get(EMOJIS.present) !== null ? EMOJIS.toRecord(row) : null;
  }

  async list(guildId: string): Promise<EmojiRecord[]> {
    const rows = await this.db.all(LIST, [toId(guildId)]);
    return rows.filter((row) => row.get(EMOJIS.present) !== null).map(EMOJIS.toRecord);
  }

  async update(guildId: string, emojiId: string, patch: EmojiPatch): Promise<void> {
    const key = [toId(guildId), toId(emojiId)];
    if (patch.name !== undefined)
      await this.db.execute('write', SET_NAME, [patch.name, ...key], { idempotent: true });
    if (patch.roles !== undefined)
      await this.db.execute('write', SET_ROLES, [patch.roles.map(toId), ...key], { idempotent: true });
  }

  async delete(guildId: string, emojiId: string): Promise<void> {
    await this.db.execute('write', EMOJIS.delete, [toId(guildId), toId(emojiId)], { idempotent: true });
  }
}
