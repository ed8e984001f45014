import { snowflakeAt } from '@parley/common';
import type { MessageRecord, MessageSearchQuery } from '../../contract';
import { searchBucketOf } from '../search-terms';
import type { CassandraSession } from '../session';
import type { CassandraMessageRepository } from './message.repository';
import { CassandraMessageSearch } from './message-search.repository';

const GUILD = '1000';
const CHANNEL = '2000';

const row = (values: Record<string, unknown>) => ({ get: (name: string) => values[name] });
const posting = (id: bigint) => row({ message_id: id, channel_id: BigInt(CHANNEL) });

/**
 * A session at the unit's edge: the bucket list from `listed`, each bucket's postings from `answer` (which may
 * hold a bucket back), every statement recorded.
 */
function fakeSession(listed: number[], answer: (bucket: number) => Promise<ReturnType<typeof posting>[]>) {
  const lists: unknown[][] = [];
  const bucketsRead: number[] = [];
  const session = {
    all: (_cql: string, params: unknown[]) => {
      lists.push(params);
      return Promise.resolve(listed.map((bucket) => row({ bucket })));
    },
    execute: async (_cls: string, cql: string, params: unknown[]) => {
      if (!cql.includes('FROM message_search WHERE')) throw new Error(`unexpected statement ${cql}`);
      const bucket = params[1] as number;
      bucketsRead.push(bucket);
      return { rows: await answer(bucket), pageState: null };
    },
  };
  return { session: session as unknown as CassandraSession, lists, bucketsRead };
}

function fakeMessages() {
  const findMany = jest.fn((_channelId: string, ids: readonly string[]) =>
    Promise.resolve(ids.map((id) => ({ id }) as MessageRecord)),
  );
  // No postings in flight: the search waits for nothing before reading.
  const postings = { settled: () => undefined };
  return { messages: { findMany, postings } as unknown as CassandraMessageRepository, findMany };
}

const query = (): MessageSearchQuery => ({
  guildId: GUILD,
  channelIds: [CHANNEL],
  terms: [{ tokens: ['lantern'], prefix: false }],
  authorIds: [],
  mentions: [],
  has: [],
  offset: 0,
  limit: 25,
});

describe('CassandraMessageSearch', () => {
  afterEach(() => jest.restoreAllMocks());

  it('reads a scope’s bucket list once a minute, and always the recent buckets the list does not name', async () => {
    let now = Date.UTC(2026, 5, 1);
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const current = searchBucketOf(snowflakeAt(now));
    const { session, lists, bucketsRead } = fakeSession([current - 3, current - 4], () =>
      Promise.resolve([]),
    );
    const search = new CassandraMessageSearch(session, fakeMessages().messages);

    await search.search(query());
    expect(lists).toHaveLength(1);
    // The list names old buckets only: the current one (a message sent a moment ago) is read as well.
    expect(bucketsRead).toEqual(expect.arrayContaining([current, current - 3, current - 4]));

    now += 30_000;
    await search.search(query());
    expect(lists).toHaveLength(1);
    now += 31_000;
    await search.search(query());
    expect(lists).toHaveLength(2);
  });

  it('reads the page’s messages while older buckets are still read for the total', async () => {
    const now = Date.UTC(2026, 5, 1);
    jest.spyOn(Date, 'now').mockReturnValue(now);
    const newest = searchBucketOf(snowflakeAt(now));
    let releaseOlder: () => void = () => undefined;
    const older = new Promise<void>((resolve) => (releaseOlder = resolve));
    const ids = Array.from({ length: 40 }, (_, i) => BigInt(snowflakeAt(now - i * 1000)) + 1n);
    const { session } = fakeSession([newest, newest - 1], async (bucket) => {
      if (bucket === newest) return ids.slice(0, 30).map(posting);
      await older;
      return ids.slice(30).map(posting);
    });
    const { messages, findMany } = fakeMessages();
    let pageAsked: () => void = () => undefined;
    const asked = new Promise<void>((resolve) => (pageAsked = resolve));
    findMany.mockImplementation((_channelId, pageIds) => {
      pageAsked();
      return Promise.resolve(pageIds.map((id) => ({ id }) as MessageRecord));
    });
    const search = new CassandraMessageSearch(session, messages);

    const result = search.search(query());
    // The newest bucket alone covers the page: its messages are asked for while the older bucket is held back
    // (a read path that waited for it would never get here, and the test would time out).
    await asked;
    releaseOlder();
    const { total, messages: page } = await result;
    expect(total).toBe(40);
    expect(page.map((m) => m.id)).toEqual(ids.slice(0, 25).map(String));
    expect(findMany).toHaveBeenCalledTimes(1);
  });
});
