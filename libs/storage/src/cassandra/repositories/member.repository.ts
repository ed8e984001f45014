import type { types } from 'cassandra-driver';
import type { MemberRecord, MemberRepository, Page } from '../../contract';
import { fromId, mapLimit, toId } from '../codec';
import { DatabaseUnavailableError } from '../errors';
import { addToMemberCount, recountMembers } from '../member-counts';
import { ALL_MEMBER_SHARDS, byShard, mergeShards, type ShardSlice } from '../member-shards';
import type { CassandraSession } from '../session';
import { GUILD_MEMBER_COUNTS, MEMBERS, MEMBERS_BY_ROLE, type Statement } from '../tables';

const GUILDS_OF = 'SELECT guild_id FROM guilds_by_user WHERE user_id = ?';
/** Ids per IN read of one shard. */
const IN_WIDTH = 100;
const toMember = MEMBERS.toRecord;
const isMember = (row: { get(column: string): unknown }): boolean => row.get(MEMBERS.present) !== null;

/**
 * Members in MEMBER_SHARDS partitions per guild (`guild_members`, migration 0045: the shard is a hash of the
 * user id, so a point read or write goes to one partition with no read first), clustered by user id; mirrored
 * by guilds_by_user for a user's guilds and by members_by_role for a role's holders, and counted in
 * `guild_member_counts`: a join is a lightweight transaction on the member row (IF NOT EXISTS) and only the call
 * that created the row counts it; a leave likewise (IF EXISTS). A transaction or counter update that times out
 * is followed by a recount of the guild before the 503 goes back.
 */
export class CassandraMemberRepository implements MemberRepository {
  constructor(private readonly db: CassandraSession) {}

  async add(member: MemberRecord): Promise<void> {
    const guild = toId(member.guildId);
    const [row, byUser, ...index] = MEMBERS.writes(member, undefined);
    await this.counted(guild, async () => {
      const rs = await this.db.execute('lwt', MEMBERS.insertIfAbsent, row.params, { idempotent: false });
      const created = rs.wasApplied();
      // A rejoin (or import) over a stored member rewrites its fields; a row left without its join time
      // (an edit that raced a leave) was no member, so this join counts. The refused insert answers with the
      // stored row, whose roles' index rows go if the rewrite drops them.
      const stored = created ? null : rs.first();
      const wasMember = stored !== null && stored.get(MEMBERS.present) !== null;
      const rewrite = created
        ? [byUser, ...index]
        : MEMBERS.writes(member, undefined, MEMBERS.rolesOf(stored));
      await this.db.batch(rewrite, true);
      if (!wasMember) await addToMemberCount(this.db, guild, 1n);
    });
  }

  async find(guildId: string, userId: string): Promise<MemberRecord | null> {
    const row = await this.findRow(toId(guildId), toId(userId));
    return row && isMember(row) ? toMember(row) : null;
  }

  /** One IN read per shard the ids fall in, in parallel (callers keep the ids few). */
  async findMany(guildId: string, userIds: readonly string[]): Promise<MemberRecord[]> {
    const unique = [...new Set(userIds)].map(toId);
    if (unique.length === 0) return [];
    const found = await this.membersAmong(toId(guildId), unique);
    return found.map(toMember);
  }

  /** Every shard from the cursor, merged in user id order (see mergeShards): a bounded slice of each. */
  async list(guildId: string, page: Page): Promise<MemberRecord[]> {
    const guild = toId(guildId);
    const limit = Math.max(1, page.limit);
    const after = page.after === undefined ? -1n : toId(page.after);
    return mergeShards(ALL_MEMBER_SHARDS, after, limit, async (shard, from, n) => {
      const rs = await this.db.execute('read', MEMBERS.page, [guild, shard, from, n], { idempotent: true });
      return sliceOf(rs.rows, n, (row) => (isMember(row) ? toMember(row) : null));
    });
  }

  /**
   * One request whatever the shard count: the coordinator reads the shards named by IN in turn until the limit
   * (where `list` must read every shard to merge them in user id order).
   */
  async sample(guildId: string, limit: number): Promise<MemberRecord[]> {
    const params = [toId(guildId), ALL_MEMBER_SHARDS, Math.max(1, limit)];
    const rs = await this.db.execute('read', MEMBERS.sample, params, { idempotent: true });
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
    const [guild, user] = [toId(guildId), toId(userId)];
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
    const stored = await this.findRow(guild, user);
    if (!stored || !isMember(stored)) return; // an UPDATE would create a half row
    const change: Statement = {
      query: `UPDATE guild_members SET ${sets.join(', ')} WHERE guild_id = ? AND shard = ? AND user_id = ?`,
      params: [...params, ...MEMBERS.key(guild, user)],
    };
    if (patch.roles === undefined) {
      await this.db.execute('write', change.query, change.params, { idempotent: true });
      return;
    }
    // The role index changes in the same logged batch (one write time for both tables).
    const index = MEMBERS_BY_ROLE.changes(guild, user, patch.roles.map(toId), MEMBERS.rolesOf(stored));
    await this.db.batch([change, ...index], true);
  }

  async remove(guildId: string, userId: string): Promise<void> {
    const [guild, user] = [toId(guildId), toId(userId)];
    // The roles held, so their index rows go too (a leave is not a hot path; a role given meanwhile can leave
    // an index row too many, which readers check against the member row).
    const held = MEMBERS.rolesOf(await this.findRow(guild, user));
    await this.counted(guild, async () => {
      const rs = await this.db.execute('lwt', MEMBERS.deleteIfPresent, MEMBERS.key(guild, user), {
        idempotent: false,
      });
      const [, byUser, ...index] = MEMBERS.removes(guild, user, held);
      await this.db.batch([byUser, ...index], true);
      if (rs.wasApplied()) await addToMemberCount(this.db, guild, -1n);
    });
  }

  /** One row (the maintained count), never a count over the guild's partitions. */
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

  private async findRow(guild: bigint, user: bigint) {
    return (
      await this.db.execute('read', MEMBERS.find, MEMBERS.key(guild, user), { idempotent: true })
    ).first();
  }

  /** The member rows (members only) of these ids: an IN read per shard and IN_WIDTH ids, in parallel. */
  private async membersAmong(guild: bigint, users: readonly bigint[]) {
    const reads = [...byShard(users)].flatMap(([shard, ids]) => {
      const slices: bigint[][] = [];
      for (let i = 0; i < ids.length; i += IN_WIDTH) slices.push(ids.slice(i, i + IN_WIDTH));
      return slices.map((slice) => [shard, slice] as const);
    });
    const pages = await mapLimit(reads, 16, async ([shard, slice]) =>
      (
        await this.db.execute('read', MEMBERS.findMany, [guild, shard, slice], { idempotent: true })
      ).rows.filter(isMember),
    );
    return pages.flat();
  }

  /** The user ids of one shard of a guild after `after` (-1: from the first), at most `limit`. */
  async idsOfShard(guild: bigint, shard: number, after: bigint, limit: number): Promise<bigint[]> {
    const rs = await this.db.execute('read', MEMBERS.page, [guild, shard, after, limit], {
      idempotent: true,
    });
    return rs.rows.map((row) => row.get('user_id') as bigint);
  }

  /**
   * Takes a role off the members of one shard that hold it, among `users` (ids read from the role index, which
   * may name a member who no longer holds it: the member row decides). Returns how many were changed.
   */
  async dropRole(guild: bigint, role: bigint, users: readonly bigint[]): Promise<number> {
    const holders = (await this.membersAmong(guild, users)).filter((row) =>
      MEMBERS.rolesOf(row).includes(role),
    );
    await mapLimit(holders, 16, (row) => {
      const user = row.get('user_id') as bigint;
      const roles = MEMBERS.rolesOf(row).filter((r) => r !== role);
      return this.db.execute(
        'write',
        'UPDATE guild_members SET roles = ? WHERE guild_id = ? AND shard = ? AND user_id = ?',
        [roles, ...MEMBERS.key(guild, user)],
        { idempotent: true },
      );
    });
    return holders.length;
  }
}

/** A shard read's rows as a slice: the rows that map to items, the last id read, whether the shard ended. */
function sliceOf<T>(
  rows: readonly types.Row[],
  asked: number,
  item: (row: types.Row) => T | null,
): ShardSlice<T> {
  const items: { id: bigint; item: T }[] = [];
  for (const row of rows) {
    const value = item(row);
    if (value !== null) items.push({ id: row.get('user_id') as bigint, item: value });
  }
  const last = rows.length === 0 ? null : (rows[rows.length - 1].get('user_id') as bigint);
  return { items, last, exhausted: rows.length < asked };
}
