import type {
  InstanceAuditEntryRecord,
  InstanceAuditLogRepository,
  InstanceAuditQuery,
} from '../../contract';
import { toId } from '../codec';
import type { CassandraSession } from '../session';
import { INSTANCE_AUDIT_LOG } from '../tables';

const DOWN = `SELECT ${INSTANCE_AUDIT_LOG.columns} FROM instance_audit_log WHERE time_window = ? AND id < ? LIMIT ?`;
/** Above every snowflake: the start of a walk down from the newest. */
const ABOVE_ALL = (2n ** 63n - 1n).toString();

/**
 * The instance audit log in 30-day windows (see INSTANCE_AUDIT_LOG). A page walks the windows from the one
 * holding `before` (or now) down to the retention horizon, one clustering range each: a page costs at most
 * the windows of the retention (13 for a year).
 */
export class CassandraInstanceAuditLogRepository implements InstanceAuditLogRepository {
  constructor(private readonly db: CassandraSession) {}

  async append(entry: InstanceAuditEntryRecord): Promise<void> {
    const ttl = INSTANCE_AUDIT_LOG.ttlAt(entry, Date.now());
    if (ttl <= 0) return;
    await this.db.execute('write', INSTANCE_AUDIT_LOG.insert, INSTANCE_AUDIT_LOG.params(entry, ttl), {
      idempotent: true,
    });
  }

  async list(q: InstanceAuditQuery): Promise<InstanceAuditEntryRecord[]> {
    const limit = Math.max(1, q.limit);
    const found: InstanceAuditEntryRecord[] = [];
    const first = INSTANCE_AUDIT_LOG.windowAt(q.oldest);
    const last = INSTANCE_AUDIT_LOG.windowAt(q.now);
    const start = q.before === undefined ? last : Math.min(last, INSTANCE_AUDIT_LOG.windowOf(q.before));
    const from = toId(q.before ?? ABOVE_ALL);
    for (let w = start; w >= first && found.length < limit; w--) {
      const rows = (
        await this.db.execute('read', DOWN, [w, from, limit - found.length], { idempotent: true })
      ).rows;
      for (const row of rows) {
        if (row.get(INSTANCE_AUDIT_LOG.present) === null) continue;
        const entry = INSTANCE_AUDIT_LOG.toRecord(row);
        if (entry.expiresAt > q.now) found.push(entry);
      }
    }
    return found;
  }
}
