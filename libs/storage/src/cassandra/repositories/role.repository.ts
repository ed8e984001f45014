import type { RoleRecord, RoleRepository } from '../../contract';
import { mapLimit, toId } from '../codec';
import type { CassandraSession } from '../session';
import { ROLES } from '../tables';
import type { CassandraChannelRepository } from './channel.repository';
import type { CassandraMemberRepository } from './member.repository';

const FIND = `SELECT ${ROLES.columns} FROM roles WHERE guild_id = ? AND role_id = ?`;
const LIST = `SELECT ${ROLES.columns} FROM roles WHERE guild_id = ?`;

/** Roles in one partition per guild. Permission bit sets are decimal text (they exceed 64 bits). */
/** Members read per page when a deleted role is taken off them. */
const MEMBER_PAGE = 1_000;

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

  /**
   * Deletes the role, then strips it from the members holding it and from channel overwrites. Role
   * deletion is rare and reads one guild partition of members; each holder's role set is rewritten.
   */
  async delete(guildId: string, roleId: string): Promise<void> {
    const guild = toId(guildId);
    const role = toId(roleId);
    await this.db.execute('write', ROLES.delete, [guild, role], { idempotent: true });
    await this.channels.deleteOverwritesFor(guild, role);
  }

  async removeFromMembers(guildId: string, roleId: string): Promise<void> {
    const guild = toId(guildId);
    const role = toId(roleId);
    // A page of the member partition at a time, from a cursor: memory stays bounded however big the guild.
    let after: bigint | null = null;
    for (;;) {
      const page = await this.members.pageOf(guild, after, MEMBER_PAGE);
      if (page.length === 0) return;
      const holders = page.filter((m) => m.roles.includes(role));
      await mapLimit(holders, 16, (m) =>
        this.members.setRoles(
          guild,
          m.userId,
          m.roles.filter((r) => r !== role),
        ),
      );
      after = page[page.length - 1].userId;
    }
  }
}
