import type { ChannelRecord, ChannelRepository, OverwriteRecord } from '../../contract';
import { parseIds, patchParams, patchSet, toId, toIdOrNull } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import {
  CHANNELS,
  DM_PAIRS,
  DM_RECIPIENTS,
  insertChannel,
  OVERWRITES,
  type ChannelRow,
  type OverwriteRow,
} from '../tables';

const BY_ID = `SELECT ${CHANNELS.columns} FROM channels WHERE id = ?`;
const BY_GUILD = `SELECT ${CHANNELS.columns} FROM channels WHERE guild_id = ? ORDER BY position, id`;
const UPDATE = `UPDATE channels SET ${patchSet(['name', 'topic', 'parent_id', 'position', 'rate_limit_per_user'])} WHERE id = @id`;
const OVERWRITES_OF_CHANNEL = `SELECT ${OVERWRITES.columns} FROM channel_overwrites WHERE channel_id = ?`;
const GUILD_OVERWRITES = `SELECT o.channel_id, o.id, o.type, o.allow, o.deny
  FROM channels c JOIN channel_overwrites o ON o.channel_id = c.id WHERE c.guild_id = ?`;
const toChannel = CHANNELS.toRecord;
const toOverwrite = OVERWRITES.toRecord;

/** Channel rows with their overwrites (guild channels) or recipients (DMs), loaded by key. */
export class SqliteChannelRepository implements ChannelRepository {
  constructor(private readonly db: SqliteDb) {}

  create(channel: ChannelRecord): Promise<void> {
    return settle(() => this.db.transaction(() => this.insert(channel)));
  }

  /** For writers that batch several records in one transaction (guild creation, DM claims). */
  insert(channel: ChannelRecord): void {
    insertChannel(this.db, channel);
  }

  /** For readers inside a transaction (DM claims). */
  load(id: bigint): ChannelRecord | null {
    const row = this.db.get<ChannelRow>(BY_ID, id);
    if (!row) return null;
    if (row.guild_id !== null)
      return toChannel(row, [], this.db.all<OverwriteRow>(OVERWRITES_OF_CHANNEL, id).map(toOverwrite));
    return toChannel(
      row,
      parseIds(this.db.get<{ ids: string }>(DM_RECIPIENTS.ofChannel, id)?.ids ?? '[]'),
      [],
    );
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
          rate_limit_per_user: patch.rateLimitPerUser,
        }),
      });
    });
  }

  /** Messages of the channel are left to the purge job (MessageRepository.purgeChannelStep). */
  delete(id: string): Promise<void> {
    return settle(() =>
      this.db.transaction(() => {
        const channel = toId(id);
        this.db.run(OVERWRITES.deleteOfChannel, channel);
        this.db.run(DM_RECIPIENTS.deleteOfChannel, channel);
        this.db.run(DM_PAIRS.deleteOfChannel, channel);
        this.db.run(CHANNELS.delete, channel);
      }),
    );
  }

  upsertOverwrite(overwrite: OverwriteRecord): Promise<void> {
    return settle(() => {
      this.db.run(OVERWRITES.upsert, ...OVERWRITES.params(overwrite));
    });
  }

  deleteOverwrite(channelId: string, id: string): Promise<void> {
    return settle(() => {
      this.db.run(OVERWRITES.delete, toId(channelId), toId(id));
    });
  }
}
