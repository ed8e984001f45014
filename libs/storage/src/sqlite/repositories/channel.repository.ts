import type { ChannelRecord, ChannelRepository, OverwriteRecord } from '../../contract';
import { fromId, fromIdOrNull, parseIds, patchParams, patchSet, toId, toIdOrNull, toNumber } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';

export interface ChannelRow {
  id: bigint;
  type: bigint;
  guild_id: bigint | null;
  name: string | null;
  topic: string | null;
  parent_id: bigint | null;
  position: bigint;
}

export interface OverwriteRow {
  channel_id: bigint;
  id: bigint;
  type: bigint;
  allow: string;
  deny: string;
}

export const CHANNEL_COLUMNS = 'id, type, guild_id, name, topic, parent_id, position';
const INSERT = `INSERT INTO channels (${CHANNEL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`;
const BY_ID = `SELECT ${CHANNEL_COLUMNS} FROM channels WHERE id = ?`;
const BY_GUILD = `SELECT ${CHANNEL_COLUMNS} FROM channels WHERE guild_id = ? ORDER BY position, id`;
const UPDATE = `UPDATE channels SET ${patchSet(['name', 'topic', 'parent_id', 'position'])} WHERE id = @id`;
const DELETE = 'DELETE FROM channels WHERE id = ?';
const OVERWRITE_COLUMNS = 'channel_id, id, type, allow, deny';
const UPSERT_OVERWRITE = `INSERT INTO channel_overwrites (${OVERWRITE_COLUMNS}) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (channel_id, id) DO UPDATE SET type = excluded.type, allow = excluded.allow, deny = excluded.deny`;
const OVERWRITES = `SELECT ${OVERWRITE_COLUMNS} FROM channel_overwrites WHERE channel_id = ?`;
const GUILD_OVERWRITES = `SELECT o.channel_id, o.id, o.type, o.allow, o.deny
  FROM channels c JOIN channel_overwrites o ON o.channel_id = c.id WHERE c.guild_id = ?`;
const DELETE_OVERWRITE = 'DELETE FROM channel_overwrites WHERE channel_id = ? AND id = ?';
const DELETE_OVERWRITES = 'DELETE FROM channel_overwrites WHERE channel_id = ?';
const INSERT_RECIPIENT = 'INSERT OR IGNORE INTO dm_recipients (user_id, channel_id) VALUES (?, ?)';
// Text ids in the JSON so the array parses without rounding.
const RECIPIENTS = `SELECT json_group_array(CAST(user_id AS TEXT)) AS ids FROM dm_recipients WHERE channel_id = ?`;
const DELETE_RECIPIENTS = 'DELETE FROM dm_recipients WHERE channel_id = ?';
const DELETE_PAIR = 'DELETE FROM dm_pairs WHERE channel_id = ?';

export function toOverwrite(row: OverwriteRow): OverwriteRecord {
  return {
    channelId: fromId(row.channel_id),
    id: fromId(row.id),
    type: row.type === 0n ? 0 : 1,
    allow: row.allow,
    deny: row.deny,
  };
}

export function toChannel(
  row: ChannelRow,
  recipients: string[],
  overwrites: OverwriteRecord[],
): ChannelRecord {
  return {
    id: fromId(row.id),
    type: toNumber(row.type),
    guildId: fromIdOrNull(row.guild_id),
    name: row.name,
    topic: row.topic,
    parentId: fromIdOrNull(row.parent_id),
    position: toNumber(row.position),
    recipients,
    overwrites,
  };
}

/** Channel rows with their overwrites (guild channels) or recipients (DMs), loaded by key. */
export class SqliteChannelRepository implements ChannelRepository {
  constructor(private readonly db: SqliteDb) {}

  create(channel: ChannelRecord): Promise<void> {
    return settle(() => this.db.transaction(() => this.insert(channel)));
  }

  /** For writers that batch several records in one transaction (guild creation, DM claims). */
  insert(channel: ChannelRecord): void {
    const id = toId(channel.id);
    this.db.run(
      INSERT,
      id,
      channel.type,
      toIdOrNull(channel.guildId),
      channel.name,
      channel.topic,
      toIdOrNull(channel.parentId),
      channel.position,
    );
    for (const overwrite of channel.overwrites) this.putOverwrite({ ...overwrite, channelId: channel.id });
    for (const userId of channel.recipients) this.db.run(INSERT_RECIPIENT, toId(userId), id);
  }

  /** For readers inside a transaction (DM claims). */
  load(id: bigint): ChannelRecord | null {
    const row = this.db.get<ChannelRow>(BY_ID, id);
    if (!row) return null;
    if (row.guild_id !== null)
      return toChannel(row, [], this.db.all<OverwriteRow>(OVERWRITES, id).map(toOverwrite));
    return toChannel(row, parseIds(this.db.get<{ ids: string }>(RECIPIENTS, id)?.ids ?? '[]'), []);
  }

  findById(id: string): Promise<ChannelRecord | null> {
    return settle(() => this.load(toId(id)));
  }

  listByGuild(guildId: string): Promise<ChannelRecord[]> {
    return settle(() => {
      const guild = toId(guildId);
      const overwrites = new Map<bigint, OverwriteRecord[]>();
      for (const row of this.db.all<OverwriteRow>(GUILD_OVERWRITES, guild)) {
        const list = overwrites.get(row.channel_id) ?? [];
        list.push(toOverwrite(row));
        overwrites.set(row.channel_id, list);
      }
      return this.db
        .all<ChannelRow>(BY_GUILD, guild)
        .map((row) => toChannel(row, [], overwrites.get(row.id) ?? []));
    });
  }

  update(id: string, patch: Parameters<ChannelRepository['update']>[1]): Promise<void> {
    return settle(() => {
      this.db.run(UPDATE, {
        id: toId(id),
        ...patchParams({
          name: patch.name,
          topic: patch.topic,
          parent_id: patch.parentId === undefined ? undefined : toIdOrNull(patch.parentId),
          position: patch.position,
        }),
      });
    });
  }

  /** Messages of the channel are left to the purge job (MessageRepository.deleteChannelBatch). */
  delete(id: string): Promise<void> {
    return settle(() =>
      this.db.transaction(() => {
        const channel = toId(id);
        this.db.run(DELETE_OVERWRITES, channel);
        this.db.run(DELETE_RECIPIENTS, channel);
        this.db.run(DELETE_PAIR, channel);
        this.db.run(DELETE, channel);
      }),
    );
  }

  upsertOverwrite(overwrite: OverwriteRecord): Promise<void> {
    return settle(() => this.putOverwrite(overwrite));
  }

  deleteOverwrite(channelId: string, id: string): Promise<void> {
    return settle(() => {
      this.db.run(DELETE_OVERWRITE, toId(channelId), toId(id));
    });
  }

  private putOverwrite(overwrite: OverwriteRecord): void {
    this.db.run(
      UPSERT_OVERWRITE,
      toId(overwrite.channelId),
      toId(overwrite.id),
      overwrite.type,
      overwrite.allow,
      overwrite.deny,
    );
  }
}
