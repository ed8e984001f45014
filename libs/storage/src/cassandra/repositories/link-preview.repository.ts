import type { LinkPreviewRecord, LinkPreviewRepository } from '../../contract';
import type { CassandraSession } from '../session';
import { LINK_PREVIEWS } from '../tables';

/** Unfurled links: one partition per URL, written with a TTL of the preview's lifetime. */
export class CassandraLinkPreviewRepository implements LinkPreviewRepository {
  constructor(private readonly db: CassandraSession) {}

  async find(url: string): Promise<LinkPreviewRecord | null> {
    const row = (await this.db.execute('read', LINK_PREVIEWS.find, [url], { idempotent: true })).first();
    if (!row) return null;
    const preview = LINK_PREVIEWS.toRecord(row);
    // The TTL is in whole seconds: a row may outlive its expiry by a moment.
    return preview.expiresAt > Date.now() ? preview : null;
  }

  async put(preview: LinkPreviewRecord): Promise<void> {
    await this.db.execute('write', LINK_PREVIEWS.insert, LINK_PREVIEWS.params(preview), { idempotent: true });
  }
}
