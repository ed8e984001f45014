import type { AttachmentRecord, AttachmentRepository, Page } from '../../contract';
import { pageStart, toId, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { ATTACHMENTS, type AttachmentRow, UPLOAD_USAGE } from '../tables';

const COLUMNS = ATTACHMENTS.columns;
const FIND = `SELECT ${COLUMNS} FROM attachments WHERE id = ?`;
// Check and claim in one statement, so two messages racing for one upload cannot both take it.
const ATTACH = `UPDATE attachments SET message_id = ?
  WHERE id = ? AND message_id IS NULL AND channel_id = ? AND uploader_id = ?`;
const DETACH = 'UPDATE attachments SET message_id = NULL WHERE id = ? AND message_id = ?';
const BY_CHANNEL = `SELECT ${COLUMNS} FROM attachments WHERE channel_id = ? AND id > ? ORDER BY id LIMIT ?`;
// Ranges over the partial index attachments_unclaimed (message_id IS NULL), by id.
const UNCLAIMED = `SELECT ${COLUMNS} FROM attachments
  WHERE message_id IS NULL AND id > ? AND created_at < ? ORDER BY id LIMIT ?`;
const DELETE_UNCLAIMED = 'DELETE FROM attachments WHERE id = ? AND message_id IS NULL';

const toRecord = ATTACHMENTS.toRecord;

export class SqliteAttachmentRepository implements AttachmentRepository {
  constructor(private readonly db: SqliteDb) {}

  create(a: AttachmentRecord): Promise<void> {
    return settle(() => {
      // Idempotent by id, like every other create of the contract: a retried upload writes the same row.
      this.db.run(ATTACHMENTS.insertIfAbsent, ...ATTACHMENTS.params(a));
    });
  }

  find(id: string): Promise<AttachmentRecord | null> {
    return settle(() => {
      const row = this.db.get<AttachmentRow>(FIND, toId(id));
      return row ? toRecord(row) : null;
    });
  }

  attach(id: string, claim: { channelId: string; uploaderId: string; messageId: string }): Promise<boolean> {
    return settle(
      () =>
        this.db.run(
          ATTACH,
          toId(claim.messageId),
          toId(id),
          toId(claim.channelId),
          toId(claim.uploaderId),
        ) === 1,
    );
  }

  detach(id: string, messageId: string): Promise<void> {
    return settle(() => {
      this.db.run(DETACH, toId(id), toId(messageId));
    });
  }

  listByChannel(channelId: string, page: Page): Promise<AttachmentRecord[]> {
    return settle(() =>
      this.db
        .all<AttachmentRow>(BY_CHANNEL, toId(channelId), pageStart(page.after), toLimit(page.limit))
        .map(toRecord),
    );
  }

  listUnclaimed(
    createdBefore: number,
    page: { limit: number; cursor: string | null },
  ): Promise<{ attachments: AttachmentRecord[]; cursor: string | null }> {
    return settle(() => {
      const limit = Math.max(1, toLimit(page.limit));
      const attachments = this.db
        .all<AttachmentRow>(UNCLAIMED, pageStart(page.cursor ?? undefined), createdBefore, limit)
        .map(toRecord);
      // The filter is applied before the limit: a short page is the end of the scan.
      const cursor = attachments.length === limit ? attachments[attachments.length - 1].id : null;
      return { attachments, cursor };
    });
  }

  deleteUnclaimed(ids: readonly string[]): Promise<string[]> {
    return settle(() => {
      if (ids.length === 0) return [];
      return this.db.transaction(() => ids.filter((id) => this.db.run(DELETE_UNCLAIMED, toId(id)) === 1));
    });
  }

  usage(userId: string): Promise<number> {
    return settle(() => {
      const row = this.db.get<{ bytes: bigint | number }>(UPLOAD_USAGE.read, toId(userId));
      return row ? Number(row.bytes) : 0;
    });
  }

  delete(ids: readonly string[]): Promise<void> {
    return settle(() => {
      if (ids.length === 0) return;
      this.db.transaction(() => {
        for (const id of ids) this.db.run(ATTACHMENTS.delete, toId(id));
      });
    });
  }
}
