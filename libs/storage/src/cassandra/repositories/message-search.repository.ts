import {
  SEARCH_TOTAL_CAP,
  matchesSearch,
  type MessageRecord,
  type MessageSearchQuery,
  type MessageSearchRepository,
  type MessageSearchResult,
} from '../../contract';
import { bucketOf } from '../buckets';
import { compareBig, mapLimit, toId } from '../codec';
import { requiredEntries } from '../search-terms';
import type { CassandraSession } from '../session';
import { MESSAGES } from '../tables';
import type { CassandraMessageRepository } from './message.repository';

const COLUMNS = MESSAGES.columns;
const toRecord = MESSAGES.toRecord;

/** Rows per page of one partition's index read. */
const PAGE = 256;
/** Partitions of one bucket read at once. */
const WIDTH = 16;

function partitionQuery(entries: number, min: boolean, max: boolean): string {
  return [
    `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ?`,
    ...Array.from({ length: entries }, () => ' AND search_terms CONTAINS ?'),
    min ? ' AND message_id > ?' : '',
    max ? ' AND message_id < ?' : '',
  ].join('');
}

/**
 * Search over the SAI index on `search_terms` (migration 0005). Every read names one partition (channel,
 * 10-day bucket), so nothing scans the table and no ALLOW FILTERING is needed. Buckets are walked newest
 * first across the searched channels; each bucket's partitions are read whole (paged) before the next, so
 * once SEARCH_TOTAL_CAP matches are in hand every newer match is among them and the walk stops. Rows the
 * index returns are checked by `matchesSearch` (phrases in order, long prefixes, authors, mentions, has),
 * which also makes the answer exactly the SQLite driver's.
 */
export class CassandraMessageSearch implements MessageSearchRepository {
  constructor(
    private readonly db: CassandraSession,
    private readonly messages: CassandraMessageRepository,
  ) {}

  async search(query: MessageSearchQuery): Promise<MessageSearchResult> {
    const entries = requiredEntries(query.terms);
    const cql = partitionQuery(entries.length, query.minId !== undefined, query.maxId !== undefined);
    const lowest = query.minId === undefined ? Number.NEGATIVE_INFINITY : bucketOf(query.minId);
    const highest = query.maxId === undefined ? Number.POSITIVE_INFINITY : bucketOf(query.maxId);

    // Which channels hold each bucket in range, newest bucket first.
    const listed = await mapLimit(query.channelIds, WIDTH, async (channelId) => ({
      channel: toId(channelId),
      buckets: await this.messages.buckets(toId(channelId)),
    }));
    const byBucket = new Map<number, bigint[]>();
    for (const { channel, buckets } of listed)
      for (const bucket of buckets)
        if (bucket >= lowest && bucket <= highest)
          byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), channel]);
    const order = [...byBucket.keys()].sort((a, b) => b - a);

    const found: MessageRecord[] = [];
    for (const bucket of order) {
      const parts = await mapLimit(byBucket.get(bucket) ?? [], WIDTH, (channel) =>
        this.partition(
          cql,
          [
            channel,
            bucket,
            ...entries,
            ...(query.minId === undefined ? [] : [toId(query.minId)]),
            ...(query.maxId === undefined ? [] : [toId(query.maxId)]),
          ],
          query,
        ),
      );
      for (const part of parts) found.push(...part);
      if (found.length >= SEARCH_TOTAL_CAP) break;
    }
    found.sort((a, b) => compareBig(BigInt(b.id), BigInt(a.id)));
    const counted = found.slice(0, SEARCH_TOTAL_CAP);
    return { total: counted.length, messages: counted.slice(query.offset, query.offset + query.limit) };
  }

  /** The partition's matches, newest first, at most SEARCH_TOTAL_CAP. */
  private async partition(
    cql: string,
    params: unknown[],
    query: MessageSearchQuery,
  ): Promise<MessageRecord[]> {
    const matches: MessageRecord[] = [];
    let pageState: string | undefined;
    do {
      const rs = await this.db.execute('read', cql, params, { idempotent: true, fetchSize: PAGE, pageState });
      for (const row of rs.rows) {
        if (row.get('author_id') === null) continue; // an update that raced a delete: not a message
        const message = toRecord(row);
        if (matchesSearch(message, query)) matches.push(message);
        if (matches.length >= SEARCH_TOTAL_CAP) return matches;
      }
      pageState = rs.pageState ?? undefined;
    } while (pageState);
    return matches;
  }
}
