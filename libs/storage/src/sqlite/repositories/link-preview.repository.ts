import type { LinkPreviewRecord, LinkPreviewRepository } from '../../contract';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { LINK_PREVIEWS, type LinkPreviewRow } from '../tables';

const FIND = `SELECT ${LINK_PREVIEWS.columns} FROM link_previews WHERE url = ? AND expires_at > ?`;
// Expired previews: swept a bounded batch at a time when a new one is written (a range read on the expiry index),
// so the table holds about the links of the last cache lifetime and a write never does unbounded work.
const SWEEP =
  'DELETE FROM link_previews WHERE url IN (SELECT url FROM link_previews WHERE expires_at <= ? ORDER BY expires_at LIMIT 100)';

export class SqliteLinkPreviewRepository implements LinkPreviewRepository {
  constructor(private readonly db: SqliteDb) {}

  find(url: string): Promise<LinkPreviewRecord | null> {
    return settle(() => {
      const row = this.db.all<LinkPreviewRow>(FIND, url, Date.now())[0];
      return row ? LINK_PREVIEWS.toRecord(row) : null;
    });
  }

  put(preview: LinkPreviewRecord): Promise<void> {
    return settle(() => {
      this.db.run(SWEEP, Date.now());
      this.db.run(LINK_PREVIEWS.upsert, ...LINK_PREVIEWS.params(preview));
    });
  }
}
