import type {
  AutoModRuleRecord,
  AutoModRuleRepository,
  RelationshipRecord,
  RelationshipRepository,
  ReportQuery,
  ReportRecord,
  ReportRepository,
  UserPrivacyRecord,
} from '../../contract';
import { PARLEY_EPOCH } from '@parley/common';
import { toId } from '../codec';
import type { CassandraSession } from '../session';
import { AUTOMOD_RULES, RELATIONSHIPS, REPORTS, USER_PRIVACY } from '../tables';

const RULE = `SELECT ${AUTOMOD_RULES.columns} FROM automod_rules WHERE guild_id = ? AND id = ?`;
const RULES = `SELECT ${AUTOMOD_RULES.columns} FROM automod_rules WHERE guild_id = ?`;

/** A guild's AutoMod rules: one small partition per guild. */
export class CassandraAutoModRuleRepository implements AutoModRuleRepository {
  constructor(private readonly db: CassandraSession) {}

  async put(rule: AutoModRuleRecord): Promise<void> {
    await this.db.execute('write', AUTOMOD_RULES.insert, AUTOMOD_RULES.params(rule), { idempotent: true });
  }

  async find(guildId: string, id: string): Promise<AutoModRuleRecord | null> {
    const row = (
      await this.db.execute('read', RULE, [toId(guildId), toId(id)], { idempotent: true })
    ).first();
    return row && row.get(AUTOMOD_RULES.present) !== null ? AUTOMOD_RULES.toRecord(row) : null;
  }

  async list(guildId: string): Promise<AutoModRuleRecord[]> {
    const rs = await this.db.execute('read', RULES, [toId(guildId)], { idempotent: true });
    return rs.rows.filter((r) => r.get(AUTOMOD_RULES.present) !== null).map(AUTOMOD_RULES.toRecord);
  }

  async delete(guildId: string, id: string): Promise<void> {
    await this.db.execute('write', AUTOMOD_RULES.delete, [toId(guildId), toId(id)], { idempotent: true });
  }
}

const RELATIONSHIP = `SELECT ${RELATIONSHIPS.columns} FROM relationships WHERE user_id = ? AND target_id = ?`;
const RELATIONSHIP_LIST = `SELECT ${RELATIONSHIPS.columns} FROM relationships WHERE user_id = ? LIMIT ?`;
const PRIVACY = `SELECT ${USER_PRIVACY.columns} FROM user_privacy WHERE user_id = ?`;

/** Blocks in one partition per user (clustered by the other user); privacy one row per user. */
export class CassandraRelationshipRepository implements RelationshipRepository {
  constructor(private readonly db: CassandraSession) {}

  async put(r: RelationshipRecord): Promise<void> {
    await this.db.execute('write', RELATIONSHIPS.insert, RELATIONSHIPS.params(r), { idempotent: true });
  }

  async find(userId: string, targetId: string): Promise<RelationshipRecord | null> {
    const row = (
      await this.db.execute('read', RELATIONSHIP, [toId(userId), toId(targetId)], { idempotent: true })
    ).first();
    return row && row.get(RELATIONSHIPS.present) !== null ? RELATIONSHIPS.toRecord(row) : null;
  }

  async list(userId: string, limit: number): Promise<RelationshipRecord[]> {
    const rs = await this.db.execute('read', RELATIONSHIP_LIST, [toId(userId), Math.max(1, limit)], {
      idempotent: true,
    });
    return rs.rows.filter((r) => r.get(RELATIONSHIPS.present) !== null).map(RELATIONSHIPS.toRecord);
  }

  async delete(userId: string, targetId: string): Promise<void> {
    await this.db.execute('write', RELATIONSHIPS.delete, [toId(userId), toId(targetId)], {
      idempotent: true,
    });
  }

  async privacy(userId: string): Promise<UserPrivacyRecord | null> {
    const row = (await this.db.execute('read', PRIVACY, [toId(userId)], { idempotent: true })).first();
    return row && row.get(USER_PRIVACY.present) !== null ? USER_PRIVACY.toRecord(row) : null;
  }

  async putPrivacy(p: UserPrivacyRecord): Promise<void> {
    await this.db.execute('write', USER_PRIVACY.insert, USER_PRIVACY.params(p), { idempotent: true });
  }
}

const REPORT_PAGE = `SELECT ${REPORTS.columns} FROM reports WHERE scope = ? AND time_window = ? AND id < ? LIMIT ?`;
/** Above every snowflake: the start of a walk down from the newest. */
const ABOVE_ALL = 2n ** 63n - 1n;

/**
 * Reports in partitions of (scope, 90-day window): scope 0 holds every report, a guild's id its own. A page walks
 * the windows down from the newest (or `before`'s) to the first snowflake's window: one clustering range each.
 */
export class CassandraReportRepository implements ReportRepository {
  constructor(private readonly db: CassandraSession) {}

  async create(report: ReportRecord): Promise<void> {
    await Promise.all(
      REPORTS.scopesOf(report).map((scope) =>
        this.db.execute('write', REPORTS.insert, REPORTS.params(report, scope), { idempotent: true }),
      ),
    );
  }

  async listReports(q: ReportQuery): Promise<ReportRecord[]> {
    const scope = q.guildId === undefined ? REPORTS.all : toId(q.guildId);
    const limit = Math.max(1, q.limit);
    const found: ReportRecord[] = [];
    const newest = REPORTS.windowAt(Date.now());
    const start = q.before === undefined ? newest : Math.min(newest, REPORTS.windowOf(q.before));
    const first = REPORTS.windowAt(PARLEY_EPOCH);
    let cursor = q.before === undefined ? ABOVE_ALL : toId(q.before);
    for (let w = start; w >= first && found.length < limit; w--) {
      const rs = await this.db.execute('read', REPORT_PAGE, [scope, w, cursor, limit - found.length], {
        idempotent: true,
      });
      for (const row of rs.rows) if (row.get(REPORTS.present) !== null) found.push(REPORTS.toRecord(row));
      if (found.length > 0) cursor = toId(found[found.length - 1].id);
    }
    return found;
  }
}
