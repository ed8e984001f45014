import type { types } from 'cassandra-driver';
import type { ChannelRecord, ChannelRepository, OverwriteRecord } from '../../contract';
import { fromId, fromIdOrNull, int, strOrNull, toId } from '../codec';
import { HotReadCache } from '../hot-reads';
import type { CassandraSession } from '../session';
import { CHANNELS, OVERWRITES, type Statement } from '../tables';

const BY_ID = `SELECT ${CHANNELS.columns} FROM channels WHERE id = ?`;
const BY_GUILD = `SELECT ${CHANNELS.byGuildColumns} FROM channels_by_guild WHERE guild_id = ?`;
const OVERWRITE_COLUMNS = 'channel_id, target_id, type, allow_bits, deny_bits';
const OVERWRITES_OF_GUILD = `SELECT ${OVERWRITE_COLUMNS} FROM channel_overwrites WHERE guild_id = ?`;
const OVERWRITES_OF_CHANNEL = `SELECT ${OVERWRITE_COLUMNS} FROM channel_overwrites WHERE guild_id = ? AND channel_id = ?`;
const toOverwrite = OVERWRITES.toRecord;

/**
 * Channels by id and by guild (the same row in two tables, written together in a logged batch), and
 * every overwrite of a guild in one partition of channel_overwrites.
 */
export class CassandraChannelRepository implements ChannelRepository {
  /**
   * Channels by id (every send, history and permission check reads one): coalesced and kept `cache_ttl`. Each
   * write below forgets the entry after it lands; other processes' writes arrive as CHANNEL_* invalidations.
   * Absent channels are never kept.
   */
  readonly cache: HotReadCache<ChannelRecord | null>;

  constructor(private readonly db: CassandraSession) {
    this.cache = new HotReadCache('channels', db.settings.cache_entries, db.settings.cache_ttl);
  }

  /** The statements that write a channel with its overwrites (for guild creation's batch too). */
  insertStatements(channel: ChannelRecord): Statement[] {
    const statements = CHANNELS.writes(channel, undefined);
    if (channel.guildId !== null) {
      const guildId = toId(channel.guildId);
      for (const overwrite of channel.overwrites) statements.push(OVERWRITES.write(guildId, overwrite));
    }
    return statements;
  }

  async create(channel: ChannelRecord): Promise<void> {
    await this.db.batch(this.insertStatements(channel), true);
    this.cache.forget(channel.id);
  }

  findById(id: string): Promise<ChannelRecord | null> {
    return this.cache.get(
      id,
      () => this.load(id),
      (channel) => channel !== null,
    );
  }

  private async load(id: string): Promise<ChannelRecord | null> {
    const row = await this.row(id);
    if (!row) return null;
    const guildId = row.get('guild_id') as bigint | null;
    const overwrites =
      guildId === null
        ? []
        : (await this.db.all(OVERWRITES_OF_CHANNEL, [guildId, toId(id)])).map(toOverwrite);
    return CHANNELS.toRecord(row, overwrites);
  }

  async listByGuild(guildId: string): Promise<ChannelRecord[]> {
    const id = toId(guildId);
    const [rows, overwriteRows] = await Promise.all([
      this.db.all(BY_GUILD, [id]),
      this.db.all(OVERWRITES_OF_GUILD, [id]),
    ]);
    const overwrites = new Map<string, OverwriteRecord[]>();
    for (const row of overwriteRows) {
      const overwrite = toOverwrite(row);
      const list = overwrites.get(overwrite.channelId) ?? [];
      list.push(overwrite);
      overwrites.set(overwrite.channelId, list);
    }
    return rows
      .filter((row) => row.get(CHANNELS.present) !== null)
      .map((row) => {
        const channelId = fromId(row.get('channel_id'));
        return {
          id: channelId,
          type: int(row, 'type'),
          guildId,
          name: strOrNull(row, 'name'),
          topic: strOrNull(row, 'topic'),
          parentId: fromIdOrNull(row.get('parent_id')),
          position: int(row, 'position'),
          ...(int(row, 'rate_limit_per_user') > 0
            ? { rateLimitPerUser: int(row, 'rate_limit_per_user') }
            : {}),
          recipients: [],
          overwrites: overwrites.get(channelId) ?? [],
        };
      });
  }

  async update(id: string, patch: Parameters<ChannelRepository['update']>[1]): Promise<void> {
    const row = await this.row(id);
    if (!row) return;
    const sets: string[] = [];
    const params: unknown[] = [];
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = ?`);
      params.push(value);
    };
    // null clears a value (a deliberate delete of that cell).
    if (patch.name !== undefined) set('name', patch.name);
    if (patch.topic !== undefined) set('topic', patch.topic);
    if (patch.parentId !== undefined) set('parent_id', patch.parentId === null ? null : toId(patch.parentId));
    if (patch.position !== undefined) set('position', patch.position);
    if (patch.rateLimitPerUser !== undefined) set('rate_limit_per_user', patch.rateLimitPerUser);
    if (sets.length === 0) return;
    const channelId = toId(id);
    const statements: Statement[] = [
      { query: `UPDATE channels SET ${sets.join(', ')} WHERE id = ?`, params: [...params, channelId] },
    ];
    const guildId = row.get('guild_id') as bigint | null;
    if (guildId !== null)
      statements.push({
        query: `UPDATE channels_by_guild SET ${sets.join(', ')} WHERE guild_id = ? AND channel_id = ?`,
        params: [...params, guildId, channelId],
      });
    this.cache.forget(id);
    await this.db.batch(statements, true);
    this.cache.forget(id);
  }

  async delete(id: string): Promise<void> {
    const row = await this.row(id);
    if (!row) return;
    await this.db.batch(this.deleteStatements(toId(id), row.get('guild_id') as bigint | null), true);
    this.cache.forget(id);
  }

  /** Also forgets the cached channel (the caller's batch deletes it: a guild's delete). */
  deleteStatements(channelId: bigint, guildId: bigint | null): Statement[] {
    this.cache.forget(channelId.toString());
    const statements = CHANNELS.removes(channelId, guildId);
    if (guildId !== null)
      statements.push({ query: OVERWRITES.deleteOfChannel, params: [guildId, channelId] });
    return statements;
  }

  async upsertOverwrite(overwrite: OverwriteRecord): Promise<void> {
    const guildId = await this.guildOf(overwrite.channelId);
    if (guildId === null) return; // DMs have no overwrites
    const { query, params } = OVERWRITES.write(guildId, overwrite);
    await this.db.execute('write', query, params, { idempotent: true });
    this.cache.forget(overwrite.channelId);
  }

  async deleteOverwrite(channelId: string, id: string): Promise<void> {
    const guildId = await this.guildOf(channelId);
    if (guildId === null) return;
    await this.db.execute('write', OVERWRITES.delete, [guildId, toId(channelId), toId(id)], {
      idempotent: true,
    });
    this.cache.forget(channelId);
  }

  /** Deletes every overwrite naming `targetId` in a guild (a deleted role). */
  async deleteOverwritesFor(guildId: bigint, targetId: bigint): Promise<void> {
    const rows = await this.db.all(OVERWRITES_OF_GUILD, [guildId]);
    const doomed = rows.filter((row) => (row.get('target_id') as bigint) === targetId);
    if (doomed.length === 0) return;
    await this.db.batch(
      doomed.map((row) => ({ query: OVERWRITES.delete, params: [guildId, row.get('channel_id'), targetId] })),
      true,
    );
    for (const row of doomed) this.cache.forget(fromId(row.get('channel_id')));
  }

  private async row(id: string): Promise<types.Row | null> {
    const row = (await this.db.execute('read', BY_ID, [toId(id)], { idempotent: true })).first();
    // An UPDATE racing a delete can leave a row without its key columns: treat it as gone.
    return row && row.get(CHANNELS.present) !== null ? row : null;
  }

  private async guildOf(channelId: string): Promise<bigint | null> {
    const row = await this.row(channelId);
    return row ? (row.get('guild_id') as bigint | null) : null;
  }
}
