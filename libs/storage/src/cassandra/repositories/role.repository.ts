import type { RoleRecord, RoleRepository } from '../../contract';
import { mapLimit, toId } from '../codec';
import { ALL_MEMBER_SHARDS } from '../member-shards';
import type { CassandraSession } from '../session';
import { MEMBERS_BY_ROLE, ROLES } from '../tables';
import type { CassandraChannelRepository } from './channel.repository';
import type { CassandraMemberRepository } from './member.repository';

const FIND = `SELECT ${ROLES.columns} FROM roles WHERE guild_id = ? AND role_id = ?`;
const LIST = `SELECT ${ROLES.columns} FROM roles WHERE guild_id = ?`;

/** Holders read per page of the role index when a deleted role is taken off them. */
const HOLDER_PAGE = 500;
/** Shards of the role index worked through at once. */
const SHARD_WIDTH = 4;

/** Roles in one partition per guild. Permission bit sets are decimal text (they exceed 64 bits). */
export class CassandraRoleRepository implements RoleRepository {
  constructor(
    private readonly db: CassandraSession,
    private readonly members: CassandraMemberRepository,
    private readonly channels: CassandraChannelRepository,
  ) {}

  async create(role: RoleRecord): Promise<void> {
    const { query, params } = ROLES.write(role);
    await this.db.execute('write', query, params, { idempotent: true });
  }

  async find(guildId: string, roleId: string): Promise<RoleRecord | null> {
    const row = (
      await this.db.execute('read', FIND, [toId(guildId), toId(roleId)], { idempotent: true })
    ).first();
    return row && row.get(ROLES.present) !== null ? ROLES.toRecord(row) : null;
  }

  async list(guildId: string): Promise<RoleRecord[]> {
    return (await this.db.all(LIST, [toId(guildId)]))
      .filter((row) => row.get(ROLES.present) !== null)
      .map(ROLES.toRecord);
  }

  async update(
    guildId: string,
    roleId: string,
    patch: Parameters<RoleRepository['update']>[2],
  ): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [
      ['name', patch.name],
      ['permissions', patch.permissions],
      ['color', patch.color],
      ['position', patch.position],
      ['mentionable', patch.mentionable],
    ] as const) {
      if (value === undefined) continue;
      sets.push(`${column} = ?`);
      params.push(value);
    }
    if (sets.length === 0) return;
    if (!(await this.find(guildId, roleId))) return; // an UPDATE would create a half row
    await this.db.execute(
      'write',
      `UPDATE roles SET ${sets.join(', ')} WHERE guild_id = ? AND role_id = ?`,
      [...params, toId(guildId), toId(roleId)],
      { idempotent: true },
    );
  }

  /** Deletes the role and its channel overwrites; its holders lose it in `removeFromMembers` (a job). */
  async delete(guildId: string, roleId: string): Promise<void> {
    const guild = toId(guildId);
    const role = toId(roleId);
    await this.db.execute('write', ROLES.delete, [guild, role], { idempotent: true });
    await this.channels.deleteOverwritesFor(guild, role);
  }

  /**
   * Takes the role off its holders, found in the role index (`members_by_role`, migration 0045): a page of a
   * shard's holders at a time from a cursor, each checked against its member row, then the shard's index
   * partition goes whole (no row tombstones for a retried job to read through). The cost follows the role's
   * holders, not the guild's members; memory stays bounded however many there are.
   */
  async removeFromMembers(guildId: string, roleId: string): Promise<void> {
    const guild = toId(guildId);
    const role = toId(roleId);
    await mapLimit(ALL_MEMBER_SHARDS, SHARD_WIDTH, async (shard) => {
      for (let after = -1n; ;) {
        const rs = await this.db.execute(
          'read',
          MEMBERS_BY_ROLE.page,
          [guild, role, shard, after, HOLDER_PAGE],
          { idempotent: true },
        );
        const users = rs.rows.map((row) => row.get('user_id') as bigint);
        if (users.length > 0) await this.members.dropRole(guild, role, users);
        if (users.length < HOLDER_PAGE) break;
        after = users[users.length - 1];
      }
      await this.db.execute('write', MEMBERS_BY_ROLE.deletePartition, [guild, role, shard], {
        idempotent: true,
      });
    });
  }
}
