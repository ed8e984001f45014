import type { MemberRecord, MemberRepository, Page } from '../../contract';
import { fromId, toId } from '../codec';
import type { CassandraSession } from '../session';
import { MEMBERS } from '../tables';

const COLUMNS = MEMBERS.columns;
const FIND = `SELECT ${COLUMNS} FROM members WHERE guild_id = ? AND user_id = ?`;
const FIND_MANY = `SELECT ${COLUMNS} FROM members WHERE guild_id = ? AND user_id IN ?`;
const PAGE_FIRST = `SELECT ${COLUMNS} FROM members WHERE guild_id = ? LIMIT ?`;
const PAGE_AFTER = `SELECT ${COLUMNS} FROM members WHERE guild_id = ? AND user_id > ? LIMIT ?`;
const ALL = `SELECT user_id, roles FROM members WHERE guild_id = ?`;
const GUILDS_OF = 'SELECT guild_id FROM guilds_by_user WHERE user_id = ?';
const COUNT = 'SELECT COUNT(*) AS n FROM members WHERE guild_id = ?';
const toMember = MEMBERS.toRecord;
const isMember = (row: { get(column: string): unknown }): boolean => row.get(MEMBERS.present) !== null;

/** Members in one partition per guild (clustered by user id), mirrored by guilds_by_user for a user's guilds. */
export class CassandraMemberRepository implements MemberRepository {
  constructor(private readonly db: CassandraSession) {}

  async add(member: MemberRecord): Promise<void> {
    await this.db.batch(MEMBERS.writes(member, undefined), true);
  }

  async find(guildId: string, userId: string): Promise<MemberRecord | null> {
    const row = (
      await this.db.execute('read', FIND, [toId(guildId), toId(userId)], { idempotent: true })
    ).first();
    return row && isMember(row) ? toMember(row) : null;
  }

  /** One partition, an IN on the clustering key: a single read however many ids (callers keep them few). */
  async findMany(guildId: string, userIds: readonly string[]): Promise<MemberRecord[]> {
    const unique = [...new Set(userIds)];
    if (unique.length === 0) return [];
    const rs = await this.db.execute('read', FIND_MANY, [toId(guildId), unique.map(toId)], {
      idempotent: true,
    });
    return rs.rows.filter(isMember).map(toMember);
  }

  async list(guildId: string, page: Page): Promise<MemberRecord[]> {
    const limit = Math.max(1, page.limit);
    const rs =
      page.after === undefined
        ? await this.db.execute('read', PAGE_FIRST, [toId(guildId), limit], { idempotent: true })
        : await this.db.execute('read', PAGE_AFTER, [toId(guildId), toId(page.after), limit], {
            idempotent: true,
          });
    return rs.rows.filter(isMember).map(toMember);
  }

  async listGuildIds(userId: string): Promise<string[]> {
    return (await this.db.all(GUILDS_OF, [toId(userId)])).map((row) => fromId(row.get('guild_id')));
  }

  async update(
    guildId: string,
    userId: string,
    patch: Parameters<MemberRepository['update']>[2],
  ): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    // nick null clears it; an empty role list is stored as an empty frozen set (a value, not a tombstone).
    if (patch.nick !== undefined) {
      sets.push('nick = ?');
      params.push(patch.nick);
    }
    if (patch.roles !== undefined) {
      sets.push('roles = ?');
      params.push(patch.roles.map(toId));
    }
    if (patch.communicationDisabledUntil !== undefined) {
      sets.push('communication_disabled_until = ?');
      params.push(
        patch.communicationDisabledUntil === null ? null : new Date(patch.communicationDisabledUntil),
      );
    }
    if (sets.length === 0) return;
    if (!(await this.find(guildId, userId))) return; // an UPDATE would create a half row
    await this.db.execute(
      'write',
      `UPDATE members SET ${sets.join(', ')} WHERE guild_id = ? AND user_id = ?`,
      [...params, toId(guildId), toId(userId)],
      { idempotent: true },
    );
  }

  async remove(guildId: string, userId: string): Promise<void> {
    await this.db.batch(MEMBERS.removes(toId(guildId), toId(userId)), true);
  }

  /** COUNT(*) over one guild partition: bounded by the guild's size, never a table scan. */
  async count(guildId: string): Promise<number> {
    const row = (await this.db.execute('read', COUNT, [toId(guildId)], { idempotent: true })).first();
    return Number(row?.get('n') ?? 0);
  }

  /** Every member's id and roles (role deletion, guild deletion). */
  async allOf(guildId: bigint): Promise<{ userId: bigint; roles: bigint[] }[]> {
    return (await this.db.all(ALL, [guildId])).map((row) => ({
      userId: row.get('user_id') as bigint,
      roles: [...((row.get('roles') as Iterable<bigint> | null) ?? [])],
    }));
  }

  async setRoles(guildId: bigint, userId: bigint, roles: bigint[]): Promise<void> {
    await this.db.execute(
      'write',
      'UPDATE members SET roles = ? WHERE guild_id = ? AND user_id = ?',
      [roles, guildId, userId],
      {
        idempotent: true,
      },
    );
  }
}
