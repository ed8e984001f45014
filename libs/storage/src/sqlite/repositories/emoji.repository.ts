import type { EmojiPatch, EmojiRecord, EmojiRepository } from '../../contract';
import { patchParams, patchSet, toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { EMOJIS, type EmojiRow } from '../tables';

const FIND = `SELECT ${EMOJIS.columns} FROM guild_emojis WHERE guild_id = ? AND id = ?`;
const LIST = `SELECT ${EMOJIS.columns} FROM guild_emojis WHERE guild_id = ? ORDER BY id`;
const UPDATE = `UPDATE guild_emojis SET ${patchSet(['name', 'roles'])} WHERE guild_id = @guild_id AND id = @id`;

/** A guild's custom emoji, keyed (guild_id, id): every read is one primary-key range. */
export class SqliteEmojiRepository implements EmojiRepository {
  constructor(private readonly db: SqliteDb) {}

  create(emoji: EmojiRecord): Promise<void> {
    return settle(() => void this.db.run(EMOJIS.insert, ...EMOJIS.params(emoji)));
  }

  find(guildId: string, emojiId: string): Promise<EmojiRecord | null> {
    return settle(() => {
      const row = this.db.get<EmojiRow>(FIND, toId(guildId), toId(emojiId));
      return row ? EMOJIS.toRecord(row) : null;
    });
  }

  list(guildId: string): Promise<EmojiRecord[]> {
    return settle(() => this.db.all<EmojiRow>(LIST, toId(guildId)).map(EMOJIS.toRecord));
  }

  update(guildId: string, emojiId: string, patch: EmojiPatch): Promise<void> {
    return settle(() => {
      if (patch.name === undefined && patch.roles === undefined) return;
      this.db.run(UPDATE, {
        guild_id: toId(guildId),
        id: toId(emojiId),
        ...patchParams({
          name: patch.name,
          roles: patch.roles === undefined ? undefined : JSON.stringify(patch.roles),
        }),
      });
    });
  }

  delete(guildId: string, emojiId: string): Promise<void> {
    return settle(() => void this.db.run(EMOJIS.delete, toId(guildId), toId(emojiId)));
  }
}
