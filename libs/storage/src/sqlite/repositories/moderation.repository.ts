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
import { toId, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import {
  AUTOMOD_RULES,
  type AutoModRuleRow,
  RELATIONSHIPS,
  type RelationshipRow,
  REPORTS,
  type ReportRow,
  USER_PRIVACY,
  type UserPrivacyRow,
} from '../tables';

const RULE = `SELECT ${AUTOMOD_RULES.columns} FROM automod_rules WHERE guild_id = ? AND id = ?`;
const RULES = `SELECT ${AUTOMOD_RULES.columns} FROM automod_rules WHERE guild_id = ? ORDER BY id`;

/** A guild's AutoMod rules: one index range per guild. */
export class SqliteAutoModRuleRepository implements AutoModRuleRepository {
  constructor(private readonly db: SqliteDb) {}

  put(rule: AutoModRuleRecord): Promise<void> {
    return settle(() => void this.db.run(AUTOMOD_RULES.upsert, ...AUTOMOD_RULES.params(rule)));
  }

  find(guildId: string, id: string): Promise<AutoModRuleRecord | null> {
    return settle(() => {
      const row = this.db.get<AutoModRuleRow>(RULE, toId(guildId), toId(id));
      return row ? AUTOMOD_RULES.toRecord(row) : null;
    });
  }

  list(guildId: string): Promise<AutoModRuleRecord[]> {
    return settle(() => this.db.all<AutoModRuleRow>(RULES, toId(guildId)).map(AUTOMOD_RULES.toRecord));
  }

  delete(guildId: string, id: string): Promise<void> {
    return settle(() => void this.db.run(AUTOMOD_RULES.delete, toId(guildId), toId(id)));
  }
}

const RELATIONSHIP = `SELECT ${RELATIONSHIPS.columns} FROM relationships WHERE user_id = ? AND target_id = ?`;
const RELATIONSHIP_LIST = `SELECT ${RELATIONSHIPS.columns} FROM relationships WHERE user_id = ? ORDER BY target_id LIMIT ?`;
const PRIVACY = `SELECT ${USER_PRIVACY.columns} FROM user_privacy WHERE user_id = ?`;

/** Blocks and privacy settings: primary-key reads. */
export class SqliteRelationshipRepository implements RelationshipRepository {
  constructor(private readonly db: SqliteDb) {}

  put(r: RelationshipRecord): Promise<void> {
    return settle(() => void this.db.run(RELATIONSHIPS.upsert, ...RELATIONSHIPS.params(r)));
  }

  find(userId: string, targetId: string): Promise<RelationshipRecord | null> {
    return settle(() => {
      const row = this.db.get<RelationshipRow>(RELATIONSHIP, toId(userId), toId(targetId));
      return row ? RELATIONSHIPS.toRecord(row) : null;
    });
  }

  list(userId: string, limit: number): Promise<RelationshipRecord[]> {
    return settle(() =>
      this.db
        .all<RelationshipRow>(RELATIONSHIP_LIST, toId(userId), toLimit(limit))
        .map(RELATIONSHIPS.toRecord),
    );
  }

  delete(userId: string, targetId: string): Promise<void> {
    return settle(() => void this.db.run(RELATIONSHIPS.delete, toId(userId), toId(targetId)));
  }

  privacy(userId: string): Promise<UserPrivacyRecord | null> {
    return settle(() => {
      const row = this.db.get<UserPrivacyRow>(PRIVACY, toId(userId));
      return row ? USER_PRIVACY.toRecord(row) : null;
    });
  }

  putPrivacy(p: UserPrivacyRecord): Promise<void> {
    return settle(() => void this.db.run(USER_PRIVACY.upsert, ...USER_PRIVACY.params(p)));
  }
}

const REPORT_COLUMNS = `SELECT ${REPORTS.columns} FROM reports`;

/** Reports: every report by id, a guild's through the (guild_id, id) index; newest first. */
export class SqliteReportRepository implements ReportRepository {
  constructor(private readonly db: SqliteDb) {}

  create(report: ReportRecord): Promise<void> {
    return settle(() => void this.db.run(REPORTS.insertIfAbsent, ...REPORTS.params(report)));
  }

  listReports(q: ReportQuery): Promise<ReportRecord[]> {
    return settle(() => {
      const where: string[] = [];
      const params: (bigint | number)[] = [];
      if (q.guildId !== undefined) {
        where.push('guild_id = ?');
        params.push(toId(q.guildId));
      }
      if (q.before !== undefined) {
        where.push('id < ?');
        params.push(toId(q.before));
      }
      const sql = `${REPORT_COLUMNS}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
      return this.db.all<ReportRow>(sql, ...params, toLimit(q.limit)).map(REPORTS.toRecord);
    });
  }
}
