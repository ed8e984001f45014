import type { RoleRecord, RoleRepository } from '../../contract';
import { patchParams, patchSet, toFlag, toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { ROLES, type RoleRow } from '../tables';

const FIND = `SELECT ${ROLES.columns} FROM roles WHERE guild_id = ? AND id = ?`;
const LIST = `SELECT ${ROLES.columns} FROM roles WHERE guild_id = ? ORDER BY position, id`;
const UPDATE = `UPDATE roles SET ${patchSet(['name', 'permissions', 'color', 'position', 'mentionable'])} WHERE guild_id = @guild_id AND id = @id`;
/** Holders taken off a deleted role per transaction. */
const HOLDER_PAGE = 2_000;
/** The last of the next page of the role's holders (`member_roles`, migration 0045, kept by triggers). */
const HOLDER_PAGE_END = `SELECT max(user_id) AS hi FROM
  (SELECT user_id FROM member_roles WHERE guild_id = ? AND role_id = ? ORDER BY user_id LIMIT ?)`;
// Member roles are JSON arrays of id strings, hence the role id is bound as text in the JSON comparisons. The
// member rows' trigger takes them out of member_roles; the DELETE after it makes sure each page moves on.
const STRIP_FROM_MEMBERS = `UPDATE members
  SET roles = (SELECT json_group_array(value) FROM json_each(members.roles) WHERE value <> @role)
  WHERE guild_id = @guild_id AND user_id IN
    (SELECT user_id FROM member_roles WHERE guild_id = @guild_id AND role_id = @role_id AND user_id <= @hi)`;
const FORGET_HOLDERS = 'DELETE FROM member_roles WHERE guild_id = ? AND role_id = ? AND user_id <= ?';
const STRIP_FROM_OVERWRITES = `DELETE FROM channel_overwrites
  WHERE id = ? AND type = 0 AND channel_id IN (SELECT id FROM channels WHERE guild_id = ?)`;

export class SqliteRoleRepository implements RoleRepository {
  constructor(private readonly db: SqliteDb) {}

  create(role: RoleRecord): Promise<void> {
    return settle(() => this.insert(role));
  }

  /** For writers that batch several records in one transaction (guild creation). */
  insert(role: RoleRecord): void {
    this.db.run(ROLES.insert, ...ROLES.params(role));
  }

  find(guildId: string, roleId: string): Promise<RoleRecord | null> {
    return settle(() => {
      const row = this.db.get<RoleRow>(FIND, toId(guildId), toId(roleId));
      return row ? ROLES.toRecord(row) : null;
    });
  }

  list(guildId: string): Promise<RoleRecord[]> {
    return settle(() => this.db.all<RoleRow>(LIST, toId(guildId)).map(ROLES.toRecord));
  }

  update(guildId: string, roleId: string, patch: Parameters<RoleRepository['update']>[2]): Promise<void> {
    return settle(() => {
      this.db.run(UPDATE, {
        guild_id: toId(guildId),
        id: toId(roleId),
        ...patchParams({
          name: patch.name,
          permissions: patch.permissions,
          color: patch.color,
          position: patch.position,
          mentionable: patch.mentionable === undefined ? undefined : toFlag(patch.mentionable),
        }),
      });
    });
  }

  delete(guildId: string, roleId: string): Promise<void> {
    return settle(() =>
      this.db.transaction(() => {
        const guild = toId(guildId);
        const role = toId(roleId);
        this.db.run(ROLES.delete, guild, role);
        this.db.run(STRIP_FROM_OVERWRITES, role, guild);
      }),
    );
  }

  /**
   * Takes the role off its holders, read from `member_roles` a page at a time (each its own short transaction):
   * the cost follows the role's holders, not the guild's members.
   */
  async removeFromMembers(guildId: string, roleId: string): Promise<void> {
    const guild = toId(guildId);
    const role = toId(roleId);
    for (;;) {
      const hi = await settle(
        () => this.db.get<{ hi: bigint | null }>(HOLDER_PAGE_END, guild, role, HOLDER_PAGE)?.hi ?? null,
      );
      if (hi === null) return;
      await settle(() =>
        this.db.transaction(() => {
          this.db.run(STRIP_FROM_MEMBERS, { guild_id: guild, role: role.toString(), role_id: role, hi });
          this.db.run(FORGET_HOLDERS, guild, role, hi);
        }),
      );
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
