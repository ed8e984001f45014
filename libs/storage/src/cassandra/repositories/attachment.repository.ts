import type { AttachmentRecord, AttachmentRepository, Page } from '../../contract';
import { bucketOf } from '../buckets';
import { fromId, mapLimit, toId } from '../codec';
import type { CassandraSession } from '../session';
import { ATTACHMENTS, UPLOAD_MARK, UPLOAD_USAGE } from '../tables';

const COLUMNS = ATTACHMENTS.columns;
const FIND = `SELECT ${COLUMNS} FROM attachments WHERE id = ?`;
// The claim: only an unattached upload of this channel and uploader (a missing row fails the
// channel/uploader conditions).
const ATTACH = `UPDATE attachments SET message_id = ? WHERE id = ?
  IF message_id = null AND channel_id = ? AND uploader_id = ?`;
const DETACH = 'UPDATE attachments SET message_id = null WHERE id = ? IF message_id = ?';
// A channel's files by 10-day bucket of their ids (0046): the bucket list, then one bucket at a time.
const BUCKETS = 'SELECT bucket FROM attachment_buckets WHERE channel_id = ?';
const BUCKETS_FROM = 'SELECT bucket FROM attachment_buckets WHERE channel_id = ? AND bucket >= ?';
const PAGE_FIRST = 'SELECT id FROM attachments_by_channel_bucket WHERE channel_id = ? AND bucket = ? LIMIT ?';
const PAGE_AFTER =
  'SELECT id FROM attachments_by_channel_bucket WHERE channel_id = ? AND bucket = ? AND id > ? LIMIT ?';
// The expiry sweep's first round after migration 0047 (no watermark yet) walks the whole table in token order
// once; every later round reads uploads_by_hour.
const SCAN_FIRST = `SELECT ${COLUMNS} FROM attachments LIMIT ?`;
const SCAN_AFTER = `SELECT ${COLUMNS} FROM attachments WHERE token(id) > token(?) LIMIT ?`;
const UNMARK = UPLOAD_MARK.unmark;
const MARKS_FIRST = 'SELECT attachment_id FROM uploads_by_hour WHERE hour = ? LIMIT ?';
const MARKS_AFTER = 'SELECT attachment_id FROM uploads_by_hour WHERE hour = ? AND attachment_id > ? LIMIT ?';
const WATERMARK_READ = "SELECT hour FROM upload_sweep WHERE name = 'unclaimed'";
const WATERMARK_WRITE = "INSERT INTO upload_sweep (name, hour) VALUES ('unclaimed', ?) USING TIMESTAMP ?";
const HOUR_MS = 3_600_000;
/** Markers live 30 days (the table's TTL): older hours hold none, so a round never starts before them. */
const MARKER_HOURS = 30 * 24;
const hourAt = (ms: number): number => Math.floor(ms / HOUR_MS);
/** Hour cursors of the marker sweep: `h<hour>:<after id or empty>`; other cursors are the first round's scan. */
const HOUR_CURSOR = /^h(-?\d+):(\d*)$/;
// Only while unclaimed: races with ATTACH on the same Paxos round, so exactly one of them wins.
const DELETE_UNCLAIMED = 'DELETE FROM attachments WHERE id = ? IF message_id = null';

const toRecord = ATTACHMENTS.toRecord;
const isAttachment = (row: { get(column: string): unknown }): boolean =>
  row.get(ATTACHMENTS.present) !== null;

/**
 * Attachments by id plus a by-channel index, and each uploader's bytes in the `upload_usage` counter.
 * Uploading is an insert IF NOT EXISTS that never writes message_id (so a retried upload neither undoes a
 * claim nor counts twice); claiming for a message and releasing it are lightweight transactions on
 * message_id; every delete is conditional too, so only the one that removed the row takes its size off.
 */
export class CassandraAttachmentRepository implements AttachmentRepository {
  constructor(private readonly db: CassandraSession) {}

  async create(attachment: AttachmentRecord): Promise<void> {
    const [row, ...index] = ATTACHMENTS.writes(attachment, undefined);
    // The bucket marker and index first: an entry without its row is skipped by listByChannel, while a row
    // without its entry would outlive its channel's cleanup.
    await Promise.all(index.map((s) => this.db.execute('write', s.query, s.params, { idempotent: true })));
    const rs = await this.db.execute('lwt', ATTACHMENTS.insertIfAbsent, row.params, {
      idempotent: false,
    });
    if (rs.wasApplied()) {
      await this.mark(attachment.id);
      await this.addUsage(attachment.uploaderId, attachment.size);
    }
  }

  private async mark(id: string): Promise<void> {
    await this.db.execute('write', UPLOAD_MARK.mark, UPLOAD_MARK.params(id), { idempotent: true });
  }

  private async unmark(id: string): Promise<void> {
    await this.db.execute('write', UNMARK, UPLOAD_MARK.params(id), { idempotent: true });
  }

  async find(id: string): Promise<AttachmentRecord | null> {
    const row = (await this.db.execute('read', FIND, [toId(id)], { idempotent: true })).first();
    return row && isAttachment(row) ? toRecord(row) : null;
  }

  async attach(
    id: string,
    claim: { channelId: string; uploaderId: string; messageId: string },
  ): Promise<boolean> {
    const rs = await this.db.execute(
      'lwt',
      ATTACH,
      [toId(claim.messageId), toId(id), toId(claim.channelId), toId(claim.uploaderId)],
      { idempotent: false },
    );
    // A claimed upload leaves the sweep's table (no read: its hour is its id's).
    if (rs.wasApplied()) await this.unmark(id);
    return rs.wasApplied();
  }

  async detach(id: string, messageId: string): Promise<void> {
    const rs = await this.db.execute('lwt', DETACH, [toId(id), toId(messageId)], { idempotent: false });
    if (rs.wasApplied()) await this.mark(id);
  }

  /**
   * Walks the channel's attachment buckets in order from the cursor's, reading each from the cursor until the
   * page is full: bounded partitions, and never the tombstones a purge left before its cursor.
   */
  async listByChannel(channelId: string, page: Page): Promise<AttachmentRecord[]> {
    const channel = toId(channelId);
    const limit = Math.max(1, page.limit);
    const after = page.after === undefined ? undefined : toId(page.after);
    const buckets = (
      after === undefined
        ? await this.db.all(BUCKETS, [channel])
        : await this.db.all(BUCKETS_FROM, [channel, bucketOf(page.after!)])
    ).map((row) => row.get('bucket') as number);
    const ids: bigint[] = [];
    for (const bucket of buckets) {
      const want = limit - ids.length;
      const rs =
        after === undefined
          ? await this.db.execute('read', PAGE_FIRST, [channel, bucket, want], { idempotent: true })
          : await this.db.execute('read', PAGE_AFTER, [channel, bucket, after, want], { idempotent: true });
      ids.push(...rs.rows.map((row) => row.get('id') as bigint));
      if (ids.length >= limit) break;
    }
    const found = await mapLimit(ids, 16, (id) => this.find(fromId(id)));
    return found.filter((a): a is AttachmentRecord => a !== null);
  }

  /**
   * Unclaimed uploads created before `createdBefore`. Once the watermark exists (after the first round), each round
   * reads the hours of uploads_by_hour from the one after the watermark to the last hour wholly before
   * `createdBefore`, a page of markers at a time, and moves the watermark past each hour once the caller has
   * come back for the next page (so the deletes of the hour's last page are done). Markers whose upload is gone
   * or claimed are deleted as they are met. The first round scans `attachments` (see SCAN_FIRST).
   */
  async listUnclaimed(
    createdBefore: number,
    page: { limit: number; cursor: string | null },
  ): Promise<{ attachments: AttachmentRecord[]; cursor: string | null }> {
    const limit = Math.max(1, page.limit);
    const hourCursor = page.cursor === null ? null : HOUR_CURSOR.exec(page.cursor);
    if (page.cursor !== null && hourCursor === null)
      return this.scanUnclaimed(createdBefore, limit, page.cursor);
    let hour: number;
    let after: string;
    if (hourCursor === null) {
      const watermark = await this.watermark();
      if (watermark === null) return this.scanUnclaimed(createdBefore, limit, null);
      hour = Math.max(watermark + 1, hourAt(Date.now()) - MARKER_HOURS);
      after = '';
    } else {
      hour = Number(hourCursor[1]);
      after = hourCursor[2];
      // A new hour: everything before it was listed and its deletes are done.
      if (after === '') await this.setWatermark(hour - 1);
    }
    const last = hourAt(createdBefore) - 1;
    if (hour > last) return { attachments: [], cursor: null };
    const rs =
      after === ''
        ? await this.db.execute('read', MARKS_FIRST, [hour, limit], { idempotent: true })
        : await this.db.execute('read', MARKS_AFTER, [hour, toId(after), limit], { idempotent: true });
    const ids = rs.rows.map((row) => fromId(row.get('attachment_id')));
    const found = await mapLimit(ids, 16, async (id) => {
      const attachment = await this.find(id);
      if (attachment === null || attachment.messageId !== null) {
        await this.db.execute('write', UNMARK, [hour, toId(id)], { idempotent: true });
        return null;
      }
      return attachment.createdAt < createdBefore ? attachment : null;
    });
    const attachments = found.filter((a): a is AttachmentRecord => a !== null);
    const cursor = ids.length === limit ? `h${hour}:${ids[ids.length - 1]}` : `h${hour + 1}:`;
    return { attachments, cursor };
  }

  /**
   * The first round: a token-order scan of `attachments`. When it ends, markers are written for the unclaimed
   * uploads it saw that are not yet due (made before 0047, or copied by an import, they have none) and the
   * watermark is set, so every later round reads uploads_by_hour only.
   */
  private async scanUnclaimed(
    createdBefore: number,
    limit: number,
    cursorId: string | null,
  ): Promise<{ attachments: AttachmentRecord[]; cursor: string | null }> {
    const rs =
      cursorId === null
        ? await this.db.execute('read', SCAN_FIRST, [limit], { idempotent: true })
        : await this.db.execute('read', SCAN_AFTER, [toId(cursorId), limit], { idempotent: true });
    const rows = rs.rows;
    const cursor = rows.length === limit ? fromId(rows[rows.length - 1].get('id')) : null;
    const unclaimed = rows
      .filter(isAttachment)
      .map(toRecord)
      .filter((a) => a.messageId === null);
    await mapLimit(
      unclaimed.filter((a) => a.createdAt >= createdBefore),
      16,
      (a) => this.mark(a.id),
    );
    if (cursor === null) await this.setWatermark(hourAt(createdBefore) - 1);
    return { attachments: unclaimed.filter((a) => a.createdAt < createdBefore), cursor };
  }

  private async watermark(): Promise<number | null> {
    const row = (await this.db.execute('read', WATERMARK_READ, [], { idempotent: true })).first();
    return row ? ((row.get('hour') as number | null) ?? null) : null;
  }

  /** The greatest hour wins whatever order the writes arrive in (the hour is the write timestamp). */
  private async setWatermark(hour: number): Promise<void> {
    await this.db.execute('write', WATERMARK_WRITE, [hour, BigInt(hour)], { idempotent: true });
  }

  async deleteUnclaimed(ids: readonly string[]): Promise<string[]> {
    const deleted = await mapLimit(ids, 16, async (id) => {
      const attachment = await this.find(id);
      if (!attachment || attachment.messageId !== null) return null;
      const rs = await this.db.execute('lwt', DELETE_UNCLAIMED, [toId(id)], { idempotent: false });
      if (!rs.wasApplied()) return null;
      await this.db.execute(
        'write',
        ATTACHMENTS.unindex,
        ATTACHMENTS.indexKey(toId(attachment.channelId), toId(id)),
        {
          idempotent: true,
        },
      );
      await this.unmark(id);
      await this.addUsage(attachment.uploaderId, -attachment.size);
      return id;
    });
    return deleted.filter((id): id is string => id !== null);
  }

  async delete(ids: readonly string[]): Promise<void> {
    await mapLimit(ids, 16, async (id) => {
      const attachment = await this.find(id);
      if (!attachment) {
        await this.db.batch(ATTACHMENTS.removes(toId(id), null), true);
        return;
      }
      const rs = await this.db.execute('lwt', ATTACHMENTS.deleteIfExists, [toId(id)], { idempotent: false });
      await this.db.execute(
        'write',
        ATTACHMENTS.unindex,
        ATTACHMENTS.indexKey(toId(attachment.channelId), toId(id)),
        {
          idempotent: true,
        },
      );
      if (rs.wasApplied()) await this.addUsage(attachment.uploaderId, -attachment.size);
    });
  }

  async usage(userId: string): Promise<number> {
    const row = (
      await this.db.execute('read', UPLOAD_USAGE.read, [toId(userId)], { idempotent: true })
    ).first();
    const bytes = row ? ((row.get('bytes') as bigint | null) ?? 0n) : 0n;
    // A counter can dip below zero only through drift (a lost increment); usage is never negative.
    return Math.max(0, Number(bytes));
  }

  private async addUsage(userId: string, bytes: number): Promise<void> {
    if (bytes === 0) return;
    // Not idempotent: a retried increment that had applied would count the file twice.
    await this.db.execute('write', UPLOAD_USAGE.add, [BigInt(bytes), toId(userId)], { idempotent: false });
  }
}
