import { SnowflakeGenerator } from '@parley/common';
import { USER_SHARDS, mergeShards, shardOf } from './shards';

const gen = new SnowflakeGenerator(1, 1);
const ids = Array.from({ length: 2000 }, () => BigInt(gen.next()));

/** Shards held in memory, each sorted ascending, read as a driver would: strictly past the cursor. */
function shardedRead(values: bigint[], reads: { n: number }) {
  const shards = Array.from({ length: USER_SHARDS }, (): bigint[] => []);
  for (const v of values) shards[shardOf(v)].push(v);
  for (const s of shards) s.sort((a, b) => (a < b ? -1 : 1));
  return async (shard: number, cursor: bigint | undefined, n: number, order: 'asc' | 'desc') => {
    reads.n++;
    const rows = order === 'asc' ? shards[shard] : [...shards[shard]].reverse();
    const past =
      cursor === undefined ? rows : rows.filter((v) => (order === 'asc' ? v > cursor : v < cursor));
    return Promise.resolve(past.slice(0, n));
  };
}

describe('shardOf', () => {
  it('spreads consecutive snowflakes over every shard, none with more than twice its share', () => {
    const counts = new Array<number>(USER_SHARDS).fill(0);
    for (const id of ids) counts[shardOf(id)]++;
    const share = ids.length / USER_SHARDS;
    expect(Math.min(...counts)).toBeGreaterThan(share / 2);
    expect(Math.max(...counts)).toBeLessThan(share * 2);
  });
});

describe('mergeShards', () => {
  const ascending = [...ids].sort((a, b) => (a < b ? -1 : 1));

  it.each([1, 7, 100, 1000])(
    'pages every value once in order, forwards and backwards (limit %i)',
    async (limit) => {
      const reads = { n: 0 };
      const read = shardedRead(ids, reads);
      for (const order of ['asc', 'desc'] as const) {
        const seen: bigint[] = [];
        let from: bigint | undefined;
        for (let pages = 0; pages < 3000; pages++) {
          const page = await mergeShards<bigint>({
            shards: USER_SHARDS,
            limit,
            order,
            from,
            keyOf: (v) => v,
            read: (shard, cursor, n) => read(shard, cursor, n, order),
          });
          if (page.length === 0) break;
          expect(page.length).toBeLessThanOrEqual(limit);
          seen.push(...page);
          from = page[page.length - 1];
        }
        expect(seen).toEqual(order === 'asc' ? ascending : [...ascending].reverse());
      }
    },
  );

  it('reads about one slice per shard for a page, not the shards whole', async () => {
    const reads = { n: 0 };
    const read = shardedRead(ids, reads);
    const page = await mergeShards<bigint>({
      shards: USER_SHARDS,
      limit: 100,
      order: 'asc',
      from: undefined,
      keyOf: (v) => v,
      read: (shard, cursor, n) => read(shard, cursor, n, 'asc'),
    });
    expect(page).toEqual(ascending.slice(0, 100));
    expect(reads.n).toBeLessThanOrEqual(USER_SHARDS * 2);
  });
});
