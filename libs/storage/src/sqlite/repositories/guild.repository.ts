import type { ChannelRecord, GuildRecord, GuildRepository, MemberRecord, RoleRecord } from '../../contract';
import { patchParams, patchSet, toId, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { GUILDS, type GuildRow } from '../tables';
import type { SqliteChannelRepository } from './channel.repository';
import type { SqliteMemberRepository } from './member.repository';
import type { SqliteRoleRepository } from './role.repository';

const BY_ID = `SELECT ${GUILDS.columns} FROM guilds WHERE id = ?`;
// Admin-only: newest first by id, the name prefix matched as the walk goes.
const SEARCH = `SELECT ${GUILDS.columns} FROM guilds WHERE id < @before AND name LIKE @pattern ESCAPE '\\'
  ORDER BY id DESC LIMIT @limit`;
const ABOVE_ALL = 2n ** 63n - 1n;
const UPDATE = `UPDATE guilds SET ${patchSet(['name', 'icon', 'owner_id', 'default_message_notifications'])} WHERE id = @id`;
// Children first, each by its guild_id key or index; messages are left to the purge job.
/** Members removed per transaction: a guild of 100,000 holds the writer for many short turns, not one long one. */
const MEMBER_BATCH = 2_000;
const DELETE_MEMBERS = `DELETE FROM members WHERE guild_id = ? AND user_id IN
  (SELECT user_id FROM members WHERE guild_id = ? LIMIT ?)`;
const DELETE_RECORD = 'DELETE FROM guilds WHERE id = ?';
const DELETE = [
  'DELETE FROM channel_overwrites WHERE channel_id IN (SELECT id FROM channels WHERE guild_id = ?)',
  'DELETE FROM channels WHERE guild_id = ?',
  'DELETE FROM roles WHERE guild_id = ?',
  // Its members' triggers brought it to 0; the row itself goes with the guild.
  'DELETE FROM guild_member_counts WHERE guild_id = ?',
  'DELETE FROM invites WHERE guild_id = ?',
  'DELETE FROM bans WHERE guild_id = ?',
  'DELETE FROM guild_emojis WHERE guild_id = ?',
  'DELETE FROM webhooks WHERE guild_id = ?',
  'DELETE FROM guilds WHERE id = ?',
];

export class SqliteGuildRepository implements GuildRepository {
  constructor(
    private readonly db: SqliteDb,
    private readonly roles: SqliteRoleRepository,
    private readonly channels: SqliteChannelRepository,
    private readonly members: SqliteMemberRepository,
  ) {}

  createWithDefaults(
    guild: GuildRecord,
    everyone: RoleRecord,
    channels: ChannelRecord[],
    owner: MemberRecord,
  ): Promise<void> {
    return settle(() =>
      this.db.transaction(() => {
        this.db.run(GUILDS.insert, ...GUILDS.params(guild));
        this.roles.insert(everyone);
        for (const channel of channels) this.channels.insert(channel);
        this.members.insert(owner);
      }),
    );
  }

  findById(id: string): Promise<GuildRecord | null> {
    return settle(() => this.byId(toId(id)));
  }

  findByIds(ids: readonly string[]): Promise<GuildRecord[]> {
    return settle(() => ids.map((id) => this.byId(toId(id))).filter((guild) => guild !== null));
  }

  update(id: string, patch: Parameters<GuildRepository['update']>[1]): Promise<void> {
    return settle(() => {
      this.db.run(UPDATE, {
        id: toId(id),
        ...patchParams({
          name: patch.name,
          icon: patch.icon,
          owner_id: patch.ownerId === undefined ? undefined : toId(patch.ownerId),
          default_message_notifications: patch.defaultMessageNotifications,
        }),
      });
    });
  }

  removeRecord(id: string): Promise<void> {
    return settle(() => {
      this.db.run(DELETE_RECORD, toId(id));
    });
  }

  async delete(id: string): Promise<void> {
    const guild = toId(id);
    // Members first, in batches, each its own transaction (their count triggers run per row).
    while ((await settle(() => this.db.run(DELETE_MEMBERS, guild, guild, MEMBER_BATCH))) > 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    return settle(() =>
      this.db.transaction(() => {
        for (const sql of DELETE) this.db.run(sql, guild);
      }),
    );
  }

  private byId(id: bigint): GuildRecord | null {
    const row = this.db.get<GuildRow>(BY_ID, id);
    return row ? GUILDS.toRecord(row) : null;
  }

  search(
    prefix: string,
    page: { limit: number; cursor: string | null },
  ): Promise<{ guilds: GuildRecord[]; cursor: string | null }> {
    return settle(() => {
      const limit = toLimit(page.limit);
      const guilds = this.db
        .all<GuildRow>(SEARCH, {
          before: page.cursor === null ? ABOVE_ALL : toId(page.cursor),
          pattern: `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`,
          limit,
        })
        .map(GUILDS.toRecord);
      return { guilds, cursor: guilds.length === limit ? guilds[guilds.length - 1].id : null };
    });
  }
}
