import type { AuditLogEntryRecord, AuditLogQuery, AuditLogRepository } from '../../contract';
import { fromId, toId } from '../codec';
import type { CassandraSession } from '../session';
import { AUDIT_LOG } from '../tables';

const COLUMNS = AUDIT_LOG.columns;
const PARTITION = 'FROM audit_log_entries WHERE guild_id = ? AND time_window = ?';
const DOWN = `SELECT ${COLUMNS} ${PARTITION} AND id < ? LIMIT ?`;
const UP = `SELECT ${COLUMNS} ${PARTITION} AND id > ? ORDER BY id ASC LIMIT ?`;
/** Rows read per request while filters drop some (one partition, a clustering range). */
const CHUNK = 100;
/** Above every snowflake: the start of a walk down from the newest. */
const ABOVE_ALL = (2n ** 63n - 1n).toString();

/**
 * The guild audit log in 7-day windows per guild (see AUDIT_LOG). A page walks the windows from the cursor
 * toward the retention horizon (the newest first, or from `after` upward), reading one clustering range per
 * request and filtering by actor and action in memory: a page costs at most the windows of the retention.
 */
export class CassandraAuditLogRepository implements AuditLogRepository {
  constructor(private readonly db: CassandraSession) {}

  async append(entry: AuditLogEntryRecord): Promise<void> {
    const ttl = AUDIT_LOG.ttlAt(entry, Date.now());
    if (ttl <= 0) return;
    await this.db.execute('write', AUDIT_LOG.insert, AUDIT_LOG.params(entry, ttl), { idempotent: true });
  }

  async list(guildId: string, q: AuditLogQuery): Promise<AuditLogEntryRecord[]> {
    const guild = toId(guildId);
    const limit = Math.max(1, q.limit);
    const keep = (e: AuditLogEntryRecord): boolean =>
      e.expiresAt > q.now &&
      (q.userId === undefined || e.userId === q.userId) &&
      (q.actionType === undefined || e.actionType === q.actionType) &&
      (q.before === undefined || BigInt(e.id) < BigInt(q.before));
    const found: AuditLogEntryRecord[] = [];
    const upward = q.after !== undefined && q.before === undefined;
    const first = AUDIT_LOG.windowAt(q.oldest);
    const last = AUDIT_LOG.windowAt(q.now);
    if (upward) {
      for (let w = Math.max(first, AUDIT_LOG.windowOf(q.after!)); w <= last && found.length < limit; w++)
        await this.walk(UP, guild, w, q.after!, limit, keep, found);
      return found.reverse();
    }
    const start = q.before === undefined ? last : Math.min(last, AUDIT_LOG.windowOf(q.before));
    const from = q.before ?? ABOVE_ALL;
    for (let w = start; w >= first && found.length < limit; w--) {
      await this.walk(DOWN, guild, w, from, limit, keep, found);
      if (q.after !== undefined && found.some((e) => BigInt(e.id) <= BigInt(q.after!))) break;
    }
    return q.after === undefined ? found : found.filter((e) => BigInt(e.id) > BigInt(q.after!));
  }

  /** Reads one window from `from` in `query`'s direction until `found` holds `limit` or the window ends. */
  private async walk(
    query: string,
    guild: bigint,
    window: number,
    from: string,
    limit: number,
    keep: (e: AuditLogEntryRecord) => boolean,
    found: AuditLogEntryRecord[],
  ): Promise<void> {
    let cursor = from;
    for (;;) {
      const rows = (
        await this.db.execute('read', query, [guild, window, toId(cursor), CHUNK], { idempotent: true })
      ).rows;
      for (const row of rows) {
        if (row.get(AUDIT_LOG.present) === null) continue;
        const entry = AUDIT_LOG.toRecord(row);
        if (keep(entry)) found.push(entry);
        if (found.length >= limit) return;
      }
      if (rows.length < CHUNK) return;
      cursor = fromId(rows[rows.length - 1].get('id'));
    }
  }
}
