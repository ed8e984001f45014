import type { types } from 'cassandra-driver';
import {
  SEARCH_TOTAL_CAP,
  termsMatch,
  type MessageRecord,
  type MessageSearchQuery,
  type MessageSearchRepository,
  type MessageSearchResult,
} from '../../contract';
import { fromId, fromIds, mapLimit, toId } from '../codec';
import { requiredEntries, searchBucketOf } from '../search-terms';
import type { CassandraSession } from '../session';
import { MESSAGE_SEARCH } from '../tables';
import type { CassandraMessageRepository } from './message.repository';

/** Rows per page of one bucket's postings read. */
const PAGE = 1000;
/** Partitions read at once at most; the first window is small (a common word is answered by the newest). */
const WIDTH = 16;
const FIRST_WINDOW = 4;

interface Hit {
  id: string;
  channelId: string;
}

type Filters = Omit<MessageSearchQuery, 'channelIds' | 'offset' | 'limit' | 'guildId'>;

function postingsQuery(entries: number, channel: boolean, min: boolean, max: boolean): string {
  return [
    `SELECT ${MESSAGE_SEARCH.columns} FROM message_search WHERE scope_id = ? AND bucket = ?`,
    ...Array.from({ length: entries }, () => ' AND terms CONTAINS ?'),
    channel ? ' AND channel_id = ?' : '',
    min ? ' AND message_id > ?' : '',
    max ? ' AND message_id < ?' : '',
  ].join('');
}

/**
 * Whether a posting row matches everything the index does not decide alone: the token sequence (phrases,
 * prefixes longer than indexed), authors, mentions, has. The same rules as `matchesSearch`, on the posting's
 * copy of the message's search-relevant fields.
 */
function postingMatches(row: types.Row, q: Filters, exactTerms: boolean): boolean {
  if (q.authorIds.length > 0 && !q.authorIds.includes(fromId(row.get('author_id')))) return false;
  if (q.mentions.length > 0 && !fromIds(row.get('mentions')).some((id) => q.mentions.includes(id)))
    return false;
  for (const has of q.has) {
    if (has === 'embed') return false; // no message stores embeds yet
    const column = has === 'link' ? 'has_link' : has === 'file' ? 'has_file' : 'has_image';
    if (row.get(column) !== true) return false;
  }
  if (exactTerms || q.terms.length === 0) return true;
  const tokens = (row.get('tokens') as string | null) ?? '';
  return termsMatch(tokens === '' ? [] : tokens.split(' '), q.terms);
}

/**
 * Search over the guild postings of migration 0010. A search names its scope (the guild; for DMs each
 * channel) and walks the scope's 10-day buckets newest first, a window of them at a time in parallel, each one
 * partition read through the SAI index on `terms` (plus `channel_id` when one channel is searched). The
 * postings are checked against the whole query in the driver (the channel list the caller may read, phrases,
 * authors, mentions, has), so nothing but the page's own messages is read from `messages`. The walk stops
 * once SEARCH_TOTAL_CAP matches are in hand from complete newer buckets: every newer match is among them, so
 * page and capped total are exact. Every statement names its partition; no ALLOW FILTERING.
 */
export class CassandraMessageSearch implements MessageSearchRepository {
  constructor(
    private readonly db: CassandraSession,
    private readonly messages: CassandraMessageRepository,
  ) {}

  async search(query: MessageSearchQuery): Promise<MessageSearchResult> {
    const scopes = query.guildId !== null ? [query.guildId] : query.channelIds;
    const found = (await Promise.all(scopes.map((scope) => this.searchScope(toId(scope), query)))).flat();
    found.sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : BigInt(b.id) < BigInt(a.id) ? -1 : 0));
    const counted = found.slice(0, SEARCH_TOTAL_CAP);
    const page = counted.slice(query.offset, query.offset + query.limit);
    return { total: counted.length, messages: await this.load(page) };
  }

  /** The scope's matches, newest first, complete for every bucket read (at least SEARCH_TOTAL_CAP or all). */
  private async searchScope(scope: bigint, query: MessageSearchQuery): Promise<Hit[]> {
    const { entries, exact } = requiredEntries(query.terms);
    const one = query.channelIds.length === 1;
    const cql = postingsQuery(entries.length, one, query.minId !== undefined, query.maxId !== undefined);
    const lowest = query.minId === undefined ? Number.NEGATIVE_INFINITY : searchBucketOf(query.minId);
    const highest = query.maxId === undefined ? Number.POSITIVE_INFINITY : searchBucketOf(query.maxId);
    const buckets = (await this.db.all(MESSAGE_SEARCH.buckets, [scope]))
      .map((row) => row.get('bucket') as number)
      .filter((bucket) => bucket >= lowest && bucket <= highest);
    const channels = new Set(query.channelIds);
    const tail = [
      ...entries,
      ...(one ? [toId(query.channelIds[0])] : []),
      ...(query.minId === undefined ? [] : [toId(query.minId)]),
      ...(query.maxId === undefined ? [] : [toId(query.maxId)]),
    ];

    const hits: Hit[] = [];
    let width = FIRST_WINDOW;
    for (
      let at = 0;
      at < buckets.length && hits.length < SEARCH_TOTAL_CAP;
      at += width, width = Math.min(WIDTH, width * 2)
    ) {
      const window = buckets.slice(at, at + width);
      const parts = await mapLimit(window, WIDTH, (bucket) =>
        this.bucket(cql, [scope, bucket, ...tail], query, channels, exact),
      );
      for (const part of parts) hits.push(...part); // buckets newest first, each newest first
    }
    return hits;
  }

  /** One bucket's matches, newest first, at most SEARCH_TOTAL_CAP. */
  private async bucket(
    cql: string,
    params: unknown[],
    query: MessageSearchQuery,
    channels: Set<string>,
    exact: boolean,
  ): Promise<Hit[]> {
    const hits: Hit[] = [];
    let pageState: string | undefined;
    do {
      const rs = await this.db.execute('read', cql, params, { idempotent: true, fetchSize: PAGE, pageState });
      for (const row of rs.rows) {
        const channel = row.get(MESSAGE_SEARCH.present) as bigint | null;
        if (channel === null) continue; // an edit that raced a delete: not a posting
        const channelId = fromId(channel);
        if (!channels.has(channelId) || !postingMatches(row, query, exact)) continue;
        hits.push({ id: fromId(row.get('message_id')), channelId });
        if (hits.length >= SEARCH_TOTAL_CAP) return hits;
      }
      pageState = rs.pageState ?? undefined;
    } while (pageState);
    return hits;
  }

  /** The page's messages in page order (one read per channel); a posting whose message is gone drops out. */
  private async load(page: Hit[]): Promise<MessageRecord[]> {
    const byChannel = new Map<string, string[]>();
    for (const hit of page) byChannel.set(hit.channelId, [...(byChannel.get(hit.channelId) ?? []), hit.id]);
    const records = new Map<string, MessageRecord>();
    await Promise.all(
      [...byChannel].map(async ([channelId, ids]) => {
        for (const m of await this.messages.findMany(channelId, ids)) records.set(m.id, m);
      }),
    );
    return page.flatMap((hit) => {
      const m = records.get(hit.id);
      return m ? [m] : [];
    });
  }
}
