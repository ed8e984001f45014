import { snowflakeAt } from '@parley/common';
import type {
  InstanceAuditEntryRecord,
  InstanceAuditLogRepository,
  InstanceAuditQuery,
} from '../../contract';
import { toId, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { INSTANCE_AUDIT_LOG, type InstanceAuditEntryRow } from '../tables';

const PAGE = `SELECT ${INSTANCE_AUDIT_LOG.columns} FROM instance_audit_log
  WHERE id >= @oldest AND id < @before AND expires_at > @now ORDER BY id DESC LIMIT @limit`;
/** Above every snowflake: a page from the newest. */
const ABOVE_ALL = 2n ** 63n - 1n;

/** The instance audit log: one primary-key range per page, newest first; expired rows pruned on append. */
export class SqliteInstanceAuditLogRepository implements InstanceAuditLogRepository {
  constructor(private readonly db: SqliteDb) {}

  append(entry: InstanceAuditEntryRecord): Promise<void> {
    return settle(() => {
      const now = Date.now();
      if (entry.expiresAt <= now) return;
      this.db.transaction(() => {
        this.db.run(INSTANCE_AUDIT_LOG.prune, now);
        this.db.run(INSTANCE_AUDIT_LOG.insertIfAbsent, ...INSTANCE_AUDIT_LOG.params(entry));
      });
    });
  }

  list(q: InstanceAuditQuery): Promise<InstanceAuditEntryRecord[]> {
    return settle(() =>
      this.db
        .all<InstanceAuditEntryRow>(PAGE, {
          oldest: toId(snowflakeAt(q.oldest)),
          before: q.before === undefined ? ABOVE_ALL : toId(q.before),
          now: q.now,
          limit: toLimit(q.limit),
        })
        .map(INSTANCE_AUDIT_LOG.toRecord),
    );
  }
}
