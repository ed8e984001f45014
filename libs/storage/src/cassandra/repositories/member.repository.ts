import type { MemberRecord, MemberRepository, Page } from '../../contract';
import { fromId, toId } from '../codec';
import { DatabaseUnavailableError } from '../errors';
import { addToMemberCount, recountMembers } from '../member-counts';
import type { CassandraSession } from '../session';
import { GUILD_MEMBER_COUNTS, MEMBERS } from '../tables';

const COLUMNS = MEMBERS.columns;
const FIND = `SELECT ${COLUMNS} FROM members WHERE guild_id = ? AND user_id = ?`;
const FIND_MANY = `SELECT ${COLUMNS} FROM members WHERE guild_id = ? AND user_id IN ?`;
const PAGE_FIRST = `SELECT ${COLUMNS} FROM members WHERE guild_id = ? LIMIT ?`;
const PAGE_AFTER = `SELECT ${COLUMNS} FROM members WHERE guild_id = ? AND user_id > ? LIMIT ?`;
const PAGE_OF = 'SELECT user_id, roles FROM members WHERE guild_id = ? AND user_id > ? LIMIT ?';
const GUILDS_OF = 'SELECT guild_id FROM guilds_by_user WHERE user_id = ?';
const toMember = MEMBERS.toRecord;
const isMember = (row: { get(column: string): unknown }): boolean => row.get(MEMBERS.present) !== null;

/**
 * Members in one partition per guild (clustered by user id), mirrored by guilds_by_user for a user's guilds,
 * and counted in `guild_member_counts`: a join is a lightweight transaction on the member row (IF NOT
 * EXISTS) and only the call that created the row counts it; a leave likewise (IF EXISTS). A transaction or
 * counter update that times out is followed by a recount of the guild before the 503 goes back.
 */
export class CassandraMemberRepository implements MemberRepository {
  constructor(private readonly db: CassandraSession) {}

  async add(member: MemberRecord): Promise<void> {
    const guild = toId(member.guildId);
    const [row, byUser] = MEMBERS.writes(member, undefined);
    await this.counted(guild, async () => {
      const rs = await this.db.execute('lwt', MEMBERS.insertIfAbsent, row.params, { idempotent: false });
      const created = rs.wasApplied();
      // A rejoin (or import) over a stored member rewrites its fields; a row left without its join time
      // (an edit that raced a leave) was no member, so this join counts.
      const wasMember = !created && rs.first()?.get(MEMBERS.present) !== null;
      await this.db.batch(created ? [byUser] : [row, byUser], true);
      if (!wasMember) await addToMemberCount(this.db, guild, 1n);
    });
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
    const [guild, user] = [toId(guildId), toId(userId)];
    await this.counted(guild, async () => {
      const rs = await this.db.execute('lwt', MEMBERS.deleteIfPresent, [guild, user], { idempotent: false });
      await this.db.execute('write', MEMBERS.deleteByUser, [user, guild], { idempotent: true });
      if (rs.wasApplied()) await addToMemberCount(this.db, guild, -1n);
    });
  }

  /** One row (the maintained count), never a count over the guild's partition. */
  async count(guildId: string): Promise<number> {
    const row = (
      await this.db.execute('read', GUILD_MEMBER_COUNTS.read, [toId(guildId)], { idempotent: true })
    ).first();
    return Math.max(0, Number((row?.get('n') as bigint | null | undefined) ?? 0n));
  }

  /** Counts the owner of a guild just created (its member row came with the guild's batch). */
  async countCreated(guild: bigint): Promise<void> {
    await this.counted(guild, () => addToMemberCount(this.db, guild, 1n));
  }

  /** Runs a change that moves the count; an unknown outcome (timeout) recounts the guild, then fails. */
  private async counted(guild: bigint, change: () => Promise<void>): Promise<void> {
    try {
      await change();
    } catch (err) {
      if (err instanceof DatabaseUnavailableError)
        await recountMembers(this.db, guild).catch(() => undefined);
      throw err;
    }
  }

  /** A page of members' ids and roles, by user id after `after` (null: from the first). */
  async pageOf(
    guildId: bigint,
    after: bigint | null,
    limit: number,
  ): Promise<{ userId: bigint; roles: bigint[] }[]> {
    const rs = await this.db.execute('read', PAGE_OF, [guildId, after ?? -1n, limit], { idempotent: true });
    return rs.rows.map((row) => ({
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
