import type { ChannelRecord, GuildRecord, GuildRepository, MemberRecord, RoleRecord } from '../../contract';
import { fromId, mapLimit, toId } from '../codec';
import { ALL_MEMBER_SHARDS } from '../member-shards';
import type { CassandraSession } from '../session';
import { allShards } from '../shards';
import {
  BANS,
  CHANNELS,
  GUILD_MEMBER_COUNTS,
  GUILDS,
  MEMBERS,
  MEMBERS_BY_ROLE,
  ROLES,
  WEBHOOKS,
} from '../tables';
import type { CassandraChannelRepository } from './channel.repository';
import type { CassandraInviteRepository } from './invite.repository';
import type { CassandraMemberRepository } from './member.repository';
import type { CassandraRoleRepository } from './role.repository';

const BY_ID = `SELECT ${GUILDS.columns} FROM guilds WHERE id = ?`;
const SCAN_FIRST = `SELECT ${GUILDS.columns} FROM guilds LIMIT ?`;
const SCAN_AFTER = `SELECT ${GUILDS.columns} FROM guilds WHERE token(id) > token(?) LIMIT ?`;
/** Rows an admin listing page reads at least (see search). */
const SEARCH_SCAN_ROWS = 500;
const CHANNEL_IDS = 'SELECT channel_id FROM channels_by_guild WHERE guild_id = ?';
const ROLE_IDS = 'SELECT role_id FROM roles WHERE guild_id = ?';
const DELETE_PARTITIONS = [
  'DELETE FROM channels_by_guild WHERE guild_id = ?',
  'DELETE FROM channel_overwrites WHERE guild_id = ?',
  'DELETE FROM roles WHERE guild_id = ?',
  'DELETE FROM guild_emojis WHERE guild_id = ?',
  'DELETE FROM webhooks_by_guild WHERE guild_id = ?',
];
const SEARCH_BUCKETS = 'SELECT bucket FROM message_search_buckets WHERE scope_id = ?';
const DELETE_SEARCH_BUCKET = 'DELETE FROM message_search WHERE scope_id = ? AND bucket = ?';
const FORGET_SEARCH_BUCKETS = 'DELETE FROM message_search_buckets WHERE scope_id = ?';
/** Members read per page when a deleted guild's member lists are cleaned. */
const MEMBER_PAGE = 1_000;
const WEBHOOK_IDS = 'SELECT id FROM webhooks_by_guild WHERE guild_id = ?';

export class CassandraGuildRepository implements GuildRepository {
  constructor(
    private readonly db: CassandraSession,
    private readonly roles: CassandraRoleRepository,
    private readonly channels: CassandraChannelRepository,
    private readonly members: CassandraMemberRepository,
    private readonly invites: CassandraInviteRepository,
  ) {}

  /** One logged batch: the guild, its @everyone role, channels and owner appear together or not at all. */
  async createWithDefaults(
    guild: GuildRecord,
    everyone: RoleRecord,
    channels: ChannelRecord[],
    owner: MemberRecord,
  ): Promise<void> {
    await this.db.batch(
      [
        GUILDS.write(guild, undefined),
        ROLES.write(everyone),
        ...channels.flatMap((channel) => this.channels.insertStatements(channel)),
        ...MEMBERS.writes(owner, undefined),
      ],
      true,
    );
    await this.members.countCreated(toId(guild.id));
  }

  async findById(id: string): Promise<GuildRecord | null> {
    const row = (await this.db.execute('read', BY_ID, [toId(id)], { idempotent: true })).first();
    return row && row.get(GUILDS.present) !== null ? GUILDS.toRecord(row) : null;
  }

  async findByIds(ids: readonly string[]): Promise<GuildRecord[]> {
    const found = await mapLimit(ids, 32, (id) => this.findById(id));
    return found.filter((guild): guild is GuildRecord => guild !== null);
  }

  async update(id: string, patch: Parameters<GuildRepository['update']>[1]): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    if (patch.name !== undefined) {
      sets.push('name = ?');
      params.push(patch.name);
    }
    if (patch.icon !== undefined) {
      sets.push('icon = ?'); // null clears it
      params.push(patch.icon);
    }
    if (patch.ownerId !== undefined) {
      sets.push('owner_id = ?');
      params.push(toId(patch.ownerId));
    }
    if (patch.defaultMessageNotifications !== undefined) {
      sets.push('default_message_notifications = ?');
      params.push(patch.defaultMessageNotifications);
    }
    if (sets.length === 0) return;
    if (!(await this.findById(id))) return; // an UPDATE would create a half row
    await this.db.execute(
      'write',
      `UPDATE guilds SET ${sets.join(', ')} WHERE id = ?`,
      [...params, toId(id)],
      {
        idempotent: true,
      },
    );
  }

  /**
   * Partition deletes for everything kept per guild, plus the rows other partitions hold about it
   * (channels by id, each member's guilds_by_user row, invites by code). Messages go by job.
   */
  async removeRecord(id: string): Promise<void> {
    await this.db.execute('write', GUILDS.delete, [toId(id)], { idempotent: true });
  }

  async delete(id: string): Promise<void> {
    const guildId = toId(id);
    const channelRows = await this.db.all(CHANNEL_IDS, [guildId]);
    await mapLimit(channelRows, 16, async (row) => {
      await this.db.execute('write', CHANNELS.delete, [row.get('channel_id')], { idempotent: true });
      this.channels.cache.forget(String(row.get('channel_id')));
    });
    // Each member's guild list, a page of a (still live) member shard at a time: bounded memory, and a retried
    // job pages it again from the start. Then the shard goes whole, and the role index's shards of each role.
    await mapLimit(ALL_MEMBER_SHARDS, 4, async (shard) => {
      for (let after = -1n; ;) {
        const users = await this.members.idsOfShard(guildId, shard, after, MEMBER_PAGE);
        await mapLimit(users, 32, (user) =>
          this.db.execute('write', MEMBERS.deleteByUser, [user, guildId], { idempotent: true }),
        );
        if (users.length < MEMBER_PAGE) break;
        after = users[users.length - 1];
      }
    });
    const roleIds = (await this.db.all(ROLE_IDS, [guildId])).map((row) => row.get('role_id') as bigint);
    await mapLimit(
      roleIds.flatMap((role) => ALL_MEMBER_SHARDS.map((shard) => [guildId, role, shard])),
      16,
      (params) => this.db.execute('write', MEMBERS_BY_ROLE.deletePartition, params, { idempotent: true }),
    );
    await this.invites.deleteAllOf(guildId);
    // Each webhook row by id (execute's read) before the guild's list of them goes in the batch below.
    const hooks = await this.db.all(WEBHOOK_IDS, [guildId]);
    await mapLimit(hooks, 16, (row) =>
      this.db.execute('write', WEBHOOKS.delete, [row.get('id')], { idempotent: true }),
    );
    await this.db.batch(
      [
        ...DELETE_PARTITIONS.map((query) => ({ query, params: [guildId] })),
        ...ALL_MEMBER_SHARDS.map((shard) => ({ query: MEMBERS.deleteShard, params: [guildId, shard] })),
        ...allShards().map((shard) => ({ query: BANS.deleteShard, params: [guildId, shard] })),
        { query: GUILDS.delete, params: [guildId] },
      ],
      true,
    );
    // The derived member count goes with its guild (a counter cannot share the logged batch).
    await this.db.execute('write', GUILD_MEMBER_COUNTS.delete, [guildId], { idempotent: true });
    // The guild's search postings: whole (scope, bucket) partitions from the scope's bucket list, no row reads.
    const searchBuckets = await this.db.all(SEARCH_BUCKETS, [guildId]);
    await mapLimit(searchBuckets, 16, (row) =>
      this.db.execute('write', DELETE_SEARCH_BUCKET, [guildId, row.get('bucket')], { idempotent: true }),
    );
    await this.db.execute('write', FORGET_SEARCH_BUCKETS, [guildId], { idempotent: true });
  }

  /** A paged scan of the guilds table in token order, filtered in memory: admin-only, never a request path. */
  async search(
    prefix: string,
    page: { limit: number; cursor: string | null },
  ): Promise<{ guilds: GuildRecord[]; cursor: string | null }> {
    const read = Math.max(page.limit, SEARCH_SCAN_ROWS);
    const rs =
      page.cursor === null
        ? await this.db.execute('read', SCAN_FIRST, [read], { idempotent: true })
        : await this.db.execute('read', SCAN_AFTER, [toId(page.cursor), read], { idempotent: true });
    const key = prefix.toLowerCase();
    const guilds: GuildRecord[] = [];
    let last: string | null = null;
    let examined = 0;
    for (const row of rs.rows) {
      examined++;
      last = fromId(row.get('id'));
      if (row.get(GUILDS.present) === null) continue;
      const guild = GUILDS.toRecord(row);
      if (guild.name.toLowerCase().startsWith(key)) guilds.push(guild);
      if (guilds.length >= page.limit) break;
    }
    const more = examined < rs.rows.length || rs.rows.length === read;
    return { guilds, cursor: more ? last : null };
  }
}
