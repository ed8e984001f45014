import type { MemberRecord, MemberRepository, Page } from '../../contract';
import { fromId, pageStart, patchParams, patchSet, toId, toNumber, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { HOT_QUERIES, type HotReader } from '../hot-queries';
import { MEMBERS, type MemberRow } from '../tables';

const FIND = `SELECT ${MEMBERS.columns} FROM members WHERE guild_id = ? AND user_id = ?`;
const UPDATE = `UPDATE members SET ${patchSet(['nick', 'roles', 'communication_disabled_until'])} WHERE guild_id = @guild_id AND user_id = @user_id`;
/** Kept by triggers on members (migration 0013): one row, never a count over the guild. */
const COUNT = 'SELECT n FROM guild_member_counts WHERE guild_id = ?';
const toRecord = MEMBERS.toRecord;

export class SqliteMemberRepository implements MemberRepository {
  constructor(
    private readonly db: SqliteDb,
    private readonly reader: HotReader,
  ) {}

  add(member: MemberRecord): Promise<void> {
    return settle(() => this.insert(member));
  }

  /**
   * For writers that batch several records in one transaction (guild creation). Re-adding a member
   * (rejoin, import) replaces the row instead of failing.
   */
  insert(member: MemberRecord): void {
    this.db.run(MEMBERS.upsert, ...MEMBERS.params(member));
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
      const sql = `SELECT ${MEMBERS.columns} FROM members WHERE guild_id = ? AND user_id IN (${ids.map(() => '?').join(', ')})`;
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

  sample(guildId: string, limit: number): Promise<MemberRecord[]> {
    return this.list(guildId, { limit });
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
        ...patchParams({
          nick: patch.nick,
          roles: patch.roles && JSON.stringify(patch.roles),
          communication_disabled_until: patch.communicationDisabledUntil,
        }),
      });
    });
  }

  remove(guildId: string, userId: string): Promise<void> {
    return settle(() => {
      this.db.run(MEMBERS.delete, toId(guildId), toId(userId));
    });
  }

  count(guildId: string): Promise<number> {
    return settle(() => toNumber(this.db.get<{ n: bigint }>(COUNT, toId(guildId))?.n ?? 0n));
  }
}
