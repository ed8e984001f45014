import { snowflakeAt } from '@parley/common';
import type { AuditLogEntryRecord, AuditLogQuery, AuditLogRepository } from '../../contract';
import { type Param, toId, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { AUDIT_LOG, type AuditLogEntryRow } from '../tables';

const BASE = `SELECT ${AUDIT_LOG.columns} FROM audit_log_entries
  WHERE guild_id = @guild AND id >= @oldest AND expires_at > @now`;

/** The guild audit log: one index range per page (guild_id, id), filters applied inside it. */
export class SqliteAuditLogRepository implements AuditLogRepository {
  constructor(private readonly db: SqliteDb) {}

  append(entry: AuditLogEntryRecord): Promise<void> {
    return settle(() => {
      const now = Date.now();
      if (entry.expiresAt <= now) return;
      this.db.transaction(() => {
        this.db.run(AUDIT_LOG.prune, now);
        this.db.run(AUDIT_LOG.insertIfAbsent, ...AUDIT_LOG.params(entry));
      });
    });
  }

  list(guildId: string, q: AuditLogQuery): Promise<AuditLogEntryRecord[]> {
    return settle(() => {
      const where = [BASE];
      const params: Record<string, Param> = {
        guild: toId(guildId),
        oldest: toId(snowflakeAt(q.oldest)),
        now: q.now,
        limit: toLimit(q.limit),
      };
      if (q.userId !== undefined) {
        where.push('user_id = @user');
        params.user = toId(q.userId);
      }
      if (q.actionType !== undefined) {
        where.push('action_type = @action');
        params.action = q.actionType;
      }
      if (q.before !== undefined) {
        where.push('id < @before');
        params.before = toId(q.before);
      }
      if (q.after !== undefined) {
        where.push('id > @after');
        params.after = toId(q.after);
      }
      const order = q.after !== undefined && q.before === undefined ? 'ASC' : 'DESC';
      const rows = this.db.all<AuditLogEntryRow>(
        `${where.join(' AND ')} ORDER BY id ${order} LIMIT @limit`,
        params,
      );
      const records = rows.map(AUDIT_LOG.toRecord);
      return order === 'ASC' ? records.reverse() : records;
    });
  }
}
