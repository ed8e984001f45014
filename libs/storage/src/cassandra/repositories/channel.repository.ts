import type { types } from 'cassandra-driver';
import type { ChannelRecord, ChannelRepository, OverwriteRecord } from '../../contract';
import {
  fromId,
  fromIdOrNull,
  fromIds,
  idsOrUnset,
  int,
  orUnset,
  strOrNull,
  toId,
  toIdOrUnset,
} from '../codec';
import type { CassandraSession } from '../session';

const INSERT = `INSERT INTO channels (id, type, guild_id, name, topic, parent_id, position, recipients)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
const INSERT_BY_GUILD = `INSERT INTO channels_by_guild (guild_id, channel_id, type, name, topic, parent_id, position)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;
const INSERT_OVERWRITE = `INSERT INTO channel_overwrites (guild_id, channel_id, target_id, type, allow_bits, deny_bits)
  VALUES (?, ?, ?, ?, ?, ?)`;
const BY_ID =
  'SELECT id, type, guild_id, name, topic, parent_id, position, recipients FROM channels WHERE id = ?';
const BY_GUILD = `SELECT channel_id, type, name, topic, parent_id, position FROM channels_by_guild WHERE guild_id = ?`;
const OVERWRITES_OF_GUILD =
  'SELECT channel_id, target_id, type, allow_bits, deny_bits FROM channel_overwrites WHERE guild_id = ?';
const OVERWRITES_OF_CHANNEL = `SELECT channel_id, target_id, type, allow_bits, deny_bits FROM channel_overwrites
  WHERE guild_id = ? AND channel_id = ?`;
const DELETE = 'DELETE FROM channels WHERE id = ?';
const DELETE_BY_GUILD = 'DELETE FROM channels_by_guild WHERE guild_id = ? AND channel_id = ?';
const DELETE_OVERWRITES = 'DELETE FROM channel_overwrites WHERE guild_id = ? AND channel_id = ?';
const DELETE_OVERWRITE =
  'DELETE FROM channel_overwrites WHERE guild_id = ? AND channel_id = ? AND target_id = ?';

export interface Statement {
  query: string;
  params: unknown[];
}

export function toOverwrite(row: types.Row): OverwriteRecord {
  return {
    channelId: fromId(row.get('channel_id')),
    id: fromId(row.get('target_id')),
    type: int(row, 'type') === 1 ? 1 : 0,
    allow: row.get('allow_bits') as string,
    deny: row.get('deny_bits') as string,
  };
}

/**
 * Channels by id and by guild (the same row in two tables, written together in a logged batch), and
 * every overwrite of a guild in one partition of channel_overwrites.
 */
export class CassandraChannelRepository implements ChannelRepository {
  constructor(private readonly db: CassandraSession) {}

  /** The statements that write a channel with its overwrites (for guild creation's batch too). */
  insertStatements(channel: ChannelRecord): Statement[] {
    const id = toId(channel.id);
    const common = [
      channel.type,
      orUnset(channel.name),
      orUnset(channel.topic),
      toIdOrUnset(channel.parentId),
      channel.position,
    ];
    const statements: Statement[] = [
      {
        query: INSERT,
        params: [
          id,
          channel.type,
          toIdOrUnset(channel.guildId),
          ...common.slice(1),
          idsOrUnset(channel.recipients),
        ],
      },
    ];
    if (channel.guildId !== null) {
      const guildId = toId(channel.guildId);
      statements.push({ query: INSERT_BY_GUILD, params: [guildId, id, ...common] });
      for (const overwrite of channel.overwrites)
        statements.push({ query: INSERT_OVERWRITE, params: overwriteParams(guildId, overwrite) });
    }
    return statements;
  }

  async create(channel: ChannelRecord): Promise<void> {
    await this.db.batch(this.insertStatements(channel), true);
  }

  async findById(id: string): Promise<ChannelRecord | null> {
    const row = await this.row(id);
    if (!row) return null;
    const guildId = row.get('guild_id') as bigint | null;
    const overwrites =
      guildId === null
        ? []
        : (await this.db.all(OVERWRITES_OF_CHANNEL, [guildId, toId(id)])).map(toOverwrite);
    return {
      id: fromId(row.get('id')),
      type: int(row, 'type'),
      guildId: fromIdOrNull(guildId),
      name: strOrNull(row, 'name'),
      topic: strOrNull(row, 'topic'),
      parentId: fromIdOrNull(row.get('parent_id')),
      position: int(row, 'position'),
      recipients: fromIds(row.get('recipients')),
      overwrites,
    };
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
      .filter((row) => row.get('type') !== null)
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
    await this.db.batch(statements, true);
  }

  async delete(id: string): Promise<void> {
    const row = await this.row(id);
    if (!row) return;
    await this.db.batch(this.deleteStatements(toId(id), row.get('guild_id') as bigint | null), true);
  }

  deleteStatements(channelId: bigint, guildId: bigint | null): Statement[] {
    const statements: Statement[] = [{ query: DELETE, params: [channelId] }];
    if (guildId !== null) {
      statements.push({ query: DELETE_BY_GUILD, params: [guildId, channelId] });
      statements.push({ query: DELETE_OVERWRITES, params: [guildId, channelId] });
    }
    return statements;
  }

  async upsertOverwrite(overwrite: OverwriteRecord): Promise<void> {
    const guildId = await this.guildOf(overwrite.channelId);
    if (guildId === null) return; // DMs have no overwrites
    await this.db.execute('write', INSERT_OVERWRITE, overwriteParams(guildId, overwrite), {
      idempotent: true,
    });
  }

  async deleteOverwrite(channelId: string, id: string): Promise<void> {
    const guildId = await this.guildOf(channelId);
    if (guildId === null) return;
    await this.db.execute('write', DELETE_OVERWRITE, [guildId, toId(channelId), toId(id)], {
      idempotent: true,
    });
  }

  /** Deletes every overwrite naming `targetId` in a guild (a deleted role). */
  async deleteOverwritesFor(guildId: bigint, targetId: bigint): Promise<void> {
    const rows = await this.db.all(OVERWRITES_OF_GUILD, [guildId]);
    const doomed = rows.filter((row) => (row.get('target_id') as bigint) === targetId);
    if (doomed.length === 0) return;
    await this.db.batch(
      doomed.map((row) => ({ query: DELETE_OVERWRITE, params: [guildId, row.get('channel_id'), targetId] })),
      true,
    );
  }

  private async row(id: string): Promise<types.Row | null> {
    const row = (await this.db.execute('read', BY_ID, [toId(id)], { idempotent: true })).first();
    // An UPDATE racing a delete can leave a row without its key columns: treat it as gone.
    return row && row.get('type') !== null ? row : null;
  }

  private async guildOf(channelId: string): Promise<bigint | null> {
    const row = await this.row(channelId);
    return row ? (row.get('guild_id') as bigint | null) : null;
  }
}

function overwriteParams(guildId: bigint, overwrite: OverwriteRecord): unknown[] {
  return [
    guildId,
    toId(overwrite.channelId),
    toId(overwrite.id),
    overwrite.type,
    overwrite.allow,
    overwrite.deny,
  ];
}
