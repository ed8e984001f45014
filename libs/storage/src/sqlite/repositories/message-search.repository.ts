import {
  SEARCH_TOTAL_CAP,
  type MessageSearchQuery,
  type MessageSearchRepository,
  type MessageSearchResult,
  type SearchHas,
  type SearchTerm,
} from '../../contract';
import { toId, type Param } from '../codec';
import type { HotReader } from '../hot-queries';
import { MESSAGES, type MessageRow } from '../tables';

/** Ids go into JSON as bare integers: parsed by SQLite as 64-bit integers, never through a JS number. */
function idArray(ids: readonly string[]): string {
  return `[${ids.map((id) => toId(id).toString()).join(',')}]`;
}

/**
 * An FTS5 query from already tokenized terms: each term a quoted string (a phrase when it has several
 * tokens), `*` after it for a prefix, all joined by AND. Tokens hold letters and digits only, so nothing
 * in them is FTS5 syntax.
 */
export function ftsQuery(terms: readonly SearchTerm[]): string {
  return terms.map((t) => `"${t.tokens.join(' ')}"${t.prefix ? ' *' : ''}`).join(' AND ');
}

/**
 * Search over the FTS5 index `messages_fts` (migration 0005), on the reader threads: first the ids of up
 * to SEARCH_TOTAL_CAP matches newest first (their count is the total), then the page's rows by id.
 */
export class SqliteMessageSearch implements MessageSearchRepository {
  constructor(private readonly reader: HotReader) {}

  async search(query: MessageSearchQuery): Promise<MessageSearchResult> {
    if (query.channelIds.length === 0) return { total: 0, messages: [] };
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
            ftsQuery(query.terms),
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
