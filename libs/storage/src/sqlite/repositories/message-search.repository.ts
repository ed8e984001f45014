import {
  SEARCH_TOTAL_CAP,
  type MessageSearchQuery,
  type MessageSearchRepository,
  type MessageSearchResult,
  type SearchHas,
  type SearchTerm,
} from '../../contract';
import { toId, type Param } from '../codec';
import { settle } from '../errors';
import type { SqliteDb } from '../connection';
import type { HotReader } from '../hot-queries';
import { MESSAGES, type MessageRow } from '../tables';

/** Ids go into JSON as bare integers: parsed by SQLite as 64-bit integers, never through a JS number. */
function idArray(ids: readonly string[]): string {
  return `[${ids.map((id) => toId(id).toString()).join(',')}]`;
}

/**
 * Searches of at most this many channels name them in the FTS5 query (`scope : (c1 OR c2 ...)`), so FTS5
 * intersects the words' doclists with the channels' and the cost follows the channels' matches. Wider
 * searches (a guild's readable channels) name the guild instead, and the channel list is checked on the
 * joined rows: an OR of many channel doclists costs more than the guild's single one (measured: 50 channels
 * ~5x the guild token).
 */
export const SCOPE_CHANNELS_MAX = 8;

/** The `scope` column of a message's index row (migration 0042): its channel and guild as tokens. */
const SCOPE_SQL = (table: string): string =>
  `'c' || ${table}.channel_id || coalesce(' g' || ${table}.guild_id, '')`;

/**
 * An FTS5 query from already tokenized terms: each term a quoted string (a phrase when it has several
 * tokens), `*` after it for a prefix, all joined by AND and confined to the `content` column; then the
 * searched scope (`scope` column): the channels when few, else the guild. Tokens hold letters and digits
 * only, so nothing in them is FTS5 syntax.
 */
export function ftsQuery(
  terms: readonly SearchTerm[],
  scope: { guildId: string | null; channelIds: readonly string[] },
): string {
  const words = terms.map((t) => `"${t.tokens.join(' ')}"${t.prefix ? ' *' : ''}`).join(' AND ');
  const scopes =
    scope.guildId !== null && scope.channelIds.length > SCOPE_CHANNELS_MAX
      ? [`g${toId(scope.guildId)}`]
      : scope.channelIds.map((id) => `c${toId(id)}`);
  return `content : (${words}) AND scope : (${scopes.join(' OR ')})`;
}

const ANY_PENDING = 'SELECT 1 FROM messages_fts_pending LIMIT 1';
/** The highest id of the next batch: the batch is every pending id up to it. */
const BATCH_END = 'SELECT max(id) AS id FROM (SELECT id FROM messages_fts_pending ORDER BY id LIMIT ?)';
// FTS rowids are negated message ids (newest first ascending, see migration 0042). Inserted in ascending
// rowid order, newest message first: FTS5 flushes its in-memory batch to a new segment whenever a rowid is
// lower than the previous one, so the oldest-first order would write one segment per message.
const INDEX_BATCH_SQL = `INSERT INTO messages_fts (rowid, content, scope)
  SELECT -messages.id, messages.content, ${SCOPE_SQL('messages')}
  FROM messages_fts_pending JOIN messages ON messages.id = messages_fts_pending.id
  WHERE messages_fts_pending.id <= ?
  ORDER BY messages_fts_pending.id DESC`;
const DONE = 'DELETE FROM messages_fts_pending WHERE id <= ?';
/** Pending messages indexed per transaction when catching up (before a search, after a bulk import). */
const INDEX_BATCH = 5000;

/**
 * Search over the FTS5 index `messages_fts` (migration 0005), on the reader threads: first the ids of up
 * to SEARCH_TOTAL_CAP matches newest first (their count is the total), then the page's rows by id.
 *
 * New messages reach the index through `messages_fts_pending` (see the migration): `indexPending` moves them
 * in, a batch per transaction, every INDEX_INTERVAL_MS and before every search, so sends write one small row
 * in their group commit and a search still sees every committed message.
 */
export class SqliteMessageSearch implements MessageSearchRepository {
  constructor(
    private readonly db: SqliteDb,
    private readonly reader: HotReader,
  ) {}

  /**
   * Indexes pending messages, `size` per transaction (oldest first), up to `batches` transactions (all of
   * them by default, as a search needs); returns how many. Runs on the writer.
   */
  indexPending(batches = Number.POSITIVE_INFINITY, size = INDEX_BATCH): number {
    let indexed = 0;
    for (let done = 0; done < batches && this.db.get(ANY_PENDING) !== undefined; done++) {
      indexed += this.db.transaction(() => {
        const end = this.db.get<{ id: bigint | null }>(BATCH_END, size)?.id ?? null;
        if (end === null) return 0;
        this.db.run(INDEX_BATCH_SQL, end);
        return this.db.run(DONE, end);
      });
    }
    return indexed;
  }

  async search(query: MessageSearchQuery): Promise<MessageSearchResult> {
    if (query.channelIds.length === 0) return { total: 0, messages: [] };
    if (query.terms.length > 0) await settle(() => this.indexPending());
    const authors = query.authorIds.length > 0 ? idArray(query.authorIds) : null;
    const mentions =
      query.mentions.length > 0 ? JSON.stringify(query.mentions.map((id) => toId(id).toString())) : null;
    const minId = query.minId === undefined ? null : toId(query.minId);
    const maxId = query.maxId === undefined ? null : toId(query.maxId);
    const flag = (kind: SearchHas): number => (query.has.includes(kind) ? 1 : 0);
    const filters: Param[] = [
      authors,
      authors,
      mentions,
      mentions,
      flag('link'),
      flag('file'),
      flag('image'),
      flag('embed'),
      minId,
      minId,
      maxId,
      maxId,
    ];
    const channels = idArray(query.channelIds);
    const rows =
      query.terms.length > 0
        ? await this.reader.all<{ id: bigint }>('messages.search', [
            ftsQuery(query.terms, query),
            channels,
            ...filters,
            SEARCH_TOTAL_CAP,
          ])
        : await this.reader.all<{ id: bigint }>('messages.searchFiltered', [
            channels,
            ...filters,
            SEARCH_TOTAL_CAP,
          ]);
    const page = rows.slice(query.offset, query.offset + query.limit);
    if (page.length === 0) return { total: rows.length, messages: [] };
    const found = await this.reader.all<MessageRow>('messages.byIds', [
      `[${page.map((r) => r.id.toString()).join(',')}]`,
    ]);
    return { total: rows.length, messages: found.map(MESSAGES.toRecord) };
  }
}
