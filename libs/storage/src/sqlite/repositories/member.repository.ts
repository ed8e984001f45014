import type { MemberRecord, MemberRepository, Page } from '../../contract';
import { fromId, pageStart, parseIds, patchParams, patchSet, toId, toNumber, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { HOT_QUERIES, MEMBER_COLUMNS, type HotReader } from '../hot-queries';

export interface MemberRow {
  guild_id: bigint;
  user_id: bigint;
  nick: string | null;
  roles: string;
  joined_at: bigint;
}

// Re-adding a member (rejoin, import) replaces the row instead of failing.
const UPSERT = `INSERT INTO members (${MEMBER_COLUMNS}) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT (guild_id, user_id) DO UPDATE SET nick = excluded.nick, roles = excluded.roles, joined_at = excluded.joined_at`;
const FIND = `SELECT ${MEMBER_COLUMNS} FROM members WHERE guild_id = ? AND user_id = ?`;
const UPDATE = `UPDATE members SET ${patchSet(['nick', 'roles'])} WHERE guild_id = @guild_id AND user_id = @user_id`;
const REMOVE = 'DELETE FROM members WHERE guild_id = ? AND user_id = ?';
const COUNT = 'SELECT count(*) AS n FROM members WHERE guild_id = ?';

export function toRecord(row: MemberRow): MemberRecord {
  return {
    guildId: fromId(row.guild_id),
    userId: fromId(row.user_id),
    nick: row.nick,
    roles: parseIds(row.roles),
    joinedAt: toNumber(row.joined_at),
  };
}

export class SqliteMemberRepository implements MemberRepository {
  constructor(
    private readonly db: SqliteDb,
    private readonly reader: HotReader,
  ) {}

  add(member: MemberRecord): Promise<void> {
    return settle(() => this.insert(member));
  }

  /** For writers that batch several records in one transaction (guild creation). */
  insert(member: MemberRecord): void {
    this.db.run(
      UPSERT,
      toId(member.guildId),
      toId(member.userId),
      member.nick,
      JSON.stringify(member.roles),
      member.joinedAt,
    );
  }

  find(guildId: string, userId: string): Promise<MemberRecord | null> {
    return settle(() => {
      const row = this.db.get<MemberRow>(FIND, toId(guildId), toId(userId));
      return row ? toRecord(row) : null;
    });
  }

  findMany(guildId: string, userIds: readonly string[]): Promise<MemberRecord[]> {
    return settle(() => {
      const unique = [...new Set(userIds)];
      if (unique.length === 0) return [];
      // Statements are cached by their text; padding to a power of two keeps the variants few.
      let width = 1;
      while (width < unique.length) width *= 2;
      const ids = unique.map(toId);
      while (ids.length < width) ids.push(ids[0]);
      const sql = `SELECT ${MEMBER_COLUMNS} FROM members WHERE guild_id = ? AND user_id IN (${ids.map(() => '?').join(', ')})`;
      return this.db.all<MemberRow>(sql, toId(guildId), ...ids).map(toRecord);
    });
  }

  async list(guildId: string, page: Page): Promise<MemberRecord[]> {
    const rows = await this.reader.all<MemberRow>('members.list', [
      toId(guildId),
      pageStart(page.after),
      toLimit(page.limit),
    ]);
    return rows.map(toRecord);
  }

  listGuildIds(userId: string): Promise<string[]> {
    return settle(() =>
      this.db
        .all<{ guild_id: bigint }>(HOT_QUERIES['members.guildIds'].sql, toId(userId))
        .map((row) => fromId(row.guild_id)),
    );
  }

  update(guildId: string, userId: string, patch: Parameters<MemberRepository['update']>[2]): Promise<void> {
    return settle(() => {
      this.db.run(UPDATE, {
        guild_id: toId(guildId),
        user_id: toId(userId),
        ...patchParams({ nick: patch.nick, roles: patch.roles && JSON.stringify(patch.roles) }),
      });
    });
  }

  remove(guildId: string, userId: string): Promise<void> {
    return settle(() => {
      this.db.run(REMOVE, toId(guildId), toId(userId));
    });
  }

  count(guildId: string): Promise<number> {
    return settle(() => toNumber(this.db.get<{ n: bigint }>(COUNT, toId(guildId))?.n ?? 0n));
  }
}
