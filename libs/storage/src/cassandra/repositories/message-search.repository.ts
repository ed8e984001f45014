import { snowflakeAt } from '@parley/common';
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
import { channelEntry, requiredEntries, searchBucketOf } from '../search-terms';
import type { CassandraSession } from '../session';
import { MESSAGE_SEARCH } from '../tables';
import type { CassandraMessageRepository } from './message.repository';

/** Rows per page of one bucket's postings read, at most. */
const PAGE = 1000;
/** Partitions read at once at most. */
const WIDTH = 16;
/**
 * How long a scope's bucket list is reused. Buckets are added as time passes (the send marks each new one) and,
 * rarely, by `parley import` / `migrate` (older ones): a cached list misses the latter for this long at most.
 */
const BUCKET_LIST_TTL_MS = 60_000;
/**
 * The buckets of ids minted this long before the list was read and after are read whether listed or not: a send
 * marks its bucket after minting the id (and the posting may be written by a job a little later), so a message
 * stored after the list was read may sit in a bucket the list does not name yet.
 */
const BUCKET_LIST_MARGIN_MS = 5 * 60_000;
/** Scopes whose bucket lists are kept (a few numbers each); the oldest entry goes first. */
const BUCKET_LISTS_KEPT = 10_000;

interface Hit {
  id: string;
  channelId: string;
}

type Filters = Omit<MessageSearchQuery, 'channelIds' | 'offset' | 'limit' | 'guildId'>;

function postingsQuery(columns: string, entries: number, min: boolean, max: boolean): string {
  return [
    `SELECT ${columns} FROM message_search WHERE scope_id = ? AND bucket = ?`,
    ...Array.from({ length: entries }, () => ' AND terms CONTAINS ?'),
    min ? ' AND message_id > ?' : '',
    max ? ' AND message_id < ?' : '',
  ].join('');
}

/**
 * How many buckets to read next: as many as the matches seen so far per bucket say are still needed to reach
 * SEARCH_TOTAL_CAP (a common word: one more at most; a rare one: the rest at once), 1..WIDTH.
 */
function nextWidth(hits: number, bucketsRead: number): number {
  if (hits === 0) return WIDTH;
  const perBucket = hits / bucketsRead;
  return Math.max(1, Math.min(WIDTH, Math.ceil((SEARCH_TOTAL_CAP - hits) / perBucket)));
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
 * Search over the guild postings of migrations 0010 and 0048. A search names its scope (the guild; for DMs
 * each channel) and walks the scope's 10-day buckets newest first: the newest alone, then as many at once as
 * the matches per bucket so far say are needed (nextWidth), each one partition read through the SAI index on
 * `terms` (the words, prefixes and word pairs required, plus the channel's entry when one channel of a guild is
 * searched), each read asking for no more matches than are still missing. The postings are checked against the
 * rest of the query in the driver (the channel list the caller may read, longer phrases and prefixes, authors,
 * mentions, has), reading only the columns those checks need, so nothing but the page's own messages is read
 * from `messages`. The walk stops once SEARCH_TOTAL_CAP matches are in hand from complete newer buckets: every
 * newer match is among them, so page and capped total are exact. Every statement names its partition; no
 * ALLOW FILTERING.
 */
export class CassandraMessageSearch implements MessageSearchRepository {
  /** Per scope: its bucket list (message_search_buckets, newest first) and when it was read. */
  private readonly bucketLists = new Map<bigint, { listed: number[]; readAt: number }>();

  constructor(
    private readonly db: CassandraSession,
    private readonly messages: CassandraMessageRepository,
  ) {}

  async search(query: MessageSearchQuery): Promise<MessageSearchResult> {
    // Sends through this process whose postings are still being written (written after the send answered).
    const pending = this.messages.postings.settled();
    if (pending) await pending;
    const end = query.offset + query.limit;
    if (query.guildId !== null) {
      // One scope: its matches arrive as a growing newest-first prefix of the final list, so the page's messages
      // are read as soon as that prefix covers the page, while older buckets are still read for the total.
      let early: Promise<MessageRecord[]> | undefined;
      const hits = await this.searchScope(toId(query.guildId), query, (prefix) => {
        if (early !== undefined || Math.min(prefix.length, SEARCH_TOTAL_CAP) < end) return;
        early = this.load(prefix.slice(query.offset, end));
        early.catch(() => undefined); // awaited below, unless the bucket reads fail first
      });
      const counted = hits.slice(0, SEARCH_TOTAL_CAP);
      return {
        total: counted.length,
        messages: await (early ?? this.load(counted.slice(query.offset, end))),
      };
    }
    const found = (
      await Promise.all(query.channelIds.map((scope) => this.searchScope(toId(scope), query)))
    ).flat();
    found.sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : BigInt(b.id) < BigInt(a.id) ? -1 : 0));
    const counted = found.slice(0, SEARCH_TOTAL_CAP);
    const page = counted.slice(query.offset, end);
    return { total: counted.length, messages: await this.load(page) };
  }

  /**
   * The scope's matches, newest first, complete for every bucket read (at least SEARCH_TOTAL_CAP or all).
   * `progress` sees the matches after each round of bucket reads: always a prefix of the final list.
   */
  private async searchScope(
    scope: bigint,
    query: MessageSearchQuery,
    progress?: (hits: readonly Hit[]) => void,
  ): Promise<Hit[]> {
    const required = requiredEntries(query.terms);
    const exact = required.exact;
    // One channel of a guild: its entry narrows the partition (a DM's partition is its channel already).
    const entries =
      query.guildId !== null && query.channelIds.length === 1
        ? [...required.entries, channelEntry(query.channelIds[0])]
        : required.entries;
    const columns = MESSAGE_SEARCH.columns({
      tokens: !exact && query.terms.length > 0,
      author: query.authorIds.length > 0,
      mentions: query.mentions.length > 0,
      has: query.has.length > 0,
    });
    const cql = postingsQuery(columns, entries.length, query.minId !== undefined, query.maxId !== undefined);
    const lowest = query.minId === undefined ? Number.NEGATIVE_INFINITY : searchBucketOf(query.minId);
    const highest = query.maxId === undefined ? Number.POSITIVE_INFINITY : searchBucketOf(query.maxId);
    const { listed, unlisted } = await this.bucketsOf(scope);
    const inRange = (bucket: number) => bucket >= lowest && bucket <= highest;
    const buckets = [...unlisted, ...listed].filter(inRange).sort((a, b) => b - a);
    // Buckets not known to hold postings go out with the newest listed one, not in a round trip of their own.
    const listedSet = new Set(listed);
    const firstListed = buckets.findIndex((bucket) => listedSet.has(bucket));
    const firstWindow = firstListed === -1 ? buckets.length : firstListed + 1;
    const channels = new Set(query.channelIds);
    const tail = [
      ...entries,
      ...(query.minId === undefined ? [] : [toId(query.minId)]),
      ...(query.maxId === undefined ? [] : [toId(query.maxId)]),
    ];

    const hits: Hit[] = [];
    let at = 0;
    // Listed buckets read so far: the per-bucket rate nextWidth estimates leaves out the unlisted recent buckets
    // (usually empty or barely begun), which would halve it and double the next round's over-read.
    let listedRead = 0;
    while (at < buckets.length && hits.length < SEARCH_TOTAL_CAP) {
      const width = at === 0 ? firstWindow : nextWidth(hits.length, Math.max(1, listedRead));
      const window = buckets.slice(at, at + width);
      // An older bucket matters only up to the matches still missing after the newer ones.
      const wanted = SEARCH_TOTAL_CAP - hits.length;
      const parts = await mapLimit(window, WIDTH, (bucket) =>
        this.bucket(cql, [scope, bucket, ...tail], query, channels, exact, wanted),
      );
      for (const part of parts) hits.push(...part); // buckets newest first, each newest first
      at += window.length;
      listedRead += window.filter((bucket) => listedSet.has(bucket)).length;
      progress?.(hits);
    }
    return hits;
  }

  /**
   * The scope's buckets newest first: `listed` from message_search_buckets (read at most once per
   * BUCKET_LIST_TTL_MS per process, saving a round trip per search), `unlisted` the recent ones (from
   * BUCKET_LIST_MARGIN_MS before the list was read to a margin past now) the list does not name, which may hold
   * postings written since.
   */
  private async bucketsOf(scope: bigint): Promise<{ listed: number[]; unlisted: number[] }> {
    const now = Date.now();
    let cached = this.bucketLists.get(scope);
    if (cached === undefined || cached.readAt + BUCKET_LIST_TTL_MS <= now) {
      const listed = (await this.db.all(MESSAGE_SEARCH.buckets, [scope])).map(
        (row) => row.get('bucket') as number,
      );
      cached = { listed, readAt: now };
      this.bucketLists.delete(scope);
      if (this.bucketLists.size >= BUCKET_LISTS_KEPT) {
        const oldest = this.bucketLists.keys().next();
        if (!oldest.done) this.bucketLists.delete(oldest.value);
      }
      this.bucketLists.set(scope, cached);
    }
    const known = new Set(cached.listed);
    const unlisted: number[] = [];
    const newest = searchBucketOf(snowflakeAt(now + BUCKET_LIST_MARGIN_MS));
    const oldest = searchBucketOf(snowflakeAt(cached.readAt - BUCKET_LIST_MARGIN_MS));
    for (let bucket = newest; bucket >= oldest; bucket--) if (!known.has(bucket)) unlisted.push(bucket);
    return { listed: cached.listed, unlisted };
  }

  /** One bucket's matches, newest first, at most `wanted`. */
  private async bucket(
    cql: string,
    params: unknown[],
    query: MessageSearchQuery,
    channels: Set<string>,
    exact: boolean,
    wanted: number,
  ): Promise<Hit[]> {
    const hits: Hit[] = [];
    let pageState: string | undefined;
    do {
      const rs = await this.db.execute('read', cql, params, {
        idempotent: true,
        fetchSize: Math.min(PAGE, wanted),
        pageState,
      });
      for (const row of rs.rows) {
        const channel = row.get(MESSAGE_SEARCH.present) as bigint | null;
        if (channel === null) continue; // an edit that raced a delete: not a posting
        const channelId = fromId(channel);
        if (!channels.has(channelId) || !postingMatches(row, query, exact)) continue;
        hits.push({ id: fromId(row.get('message_id')), channelId });
        if (hits.length >= wanted) return hits;
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
