import { MEMBER_SHARDS, memberShard, mergeShards, type ShardReader } from './member-shards';

/** Shards held in memory: sorted id lists, read like a clustering slice. `hidden` ids are half rows. */
function shardsOf(ids: bigint[], shardOf: (id: bigint) => number, hidden = new Set<bigint>()) {
  const shards = new Map<number, bigint[]>();
  for (const id of ids) shards.set(shardOf(id), [...(shards.get(shardOf(id)) ?? []), id]);
  for (const list of shards.values()) list.sort((a, b) => (a < b ? -1 : 1));
  let reads = 0;
  const read: ShardReader<bigint> = (shard, after, limit) => {
    reads++;
    const rows = (shards.get(shard) ?? []).filter((id) => id > after).slice(0, limit);
    return Promise.resolve({
      items: rows.filter((id) => !hidden.has(id)).map((id) => ({ id, item: id })),
      last: rows.length === 0 ? null : rows[rows.length - 1],
      exhausted: rows.length < limit,
    });
  };
  return { read, reads: () => reads };
}

const ALL = Array.from({ length: MEMBER_SHARDS }, (_, i) => i);
const sorted = (ids: bigint[]) => [...ids].sort((a, b) => (a < b ? -1 : 1));

describe('memberShard', () => {
  it('is stable (stored rows depend on it) and spreads consecutive snowflakes', () => {
    // fmix64(id) mod 16, computed once: a change here would move every stored member row.
    expect([1n, 2n, 1579151241098334208n, 9223372036854775807n].map(memberShard)).toEqual([12, 7, 1, 10]);
    // Snowflakes one millisecond apart (sequence 0) differ only above bit 22.
    const counts = new Array<number>(MEMBER_SHARDS).fill(0);
    for (let ms = 0n; ms < 1600n; ms++) counts[memberShard((1700000000000n + ms) << 22n)]++;
    for (const n of counts) expect(n).toBeGreaterThan(50);
  });
});

describe('mergeShards', () => {
  const ids = Array.from(
    { length: 700 },
    (_, i) => ((1700000000000n + BigInt(i * 7)) << 22n) + BigInt(i % 3),
  );

  it('answers the first `limit` ids after the cursor in order, for every limit and cursor', async () => {
    const { read } = shardsOf(ids, memberShard);
    const all = sorted(ids);
    for (const limit of [1, 2, 7, 50, 1000])
      for (const start of [-1, 0, 123, 698, 699]) {
        const after = start < 0 ? -1n : all[start];
        const from = start + 1;
        expect(await mergeShards(ALL, after, limit, read)).toEqual(all.slice(from, from + limit));
      }
  });

  it('stays exact when every id sits in one shard (more rounds, still bounded)', async () => {
    const { read, reads } = shardsOf(ids, () => 5);
    expect(await mergeShards(ALL, -1n, 300, read)).toEqual(sorted(ids).slice(0, 300));
    expect(reads()).toBeLessThan(16 * 8);
  });

  it('skips half rows without ending the page early', async () => {
    const hidden = new Set(ids.filter((_, i) => i % 2 === 0));
    const { read } = shardsOf(ids, memberShard, hidden);
    const visible = sorted(ids.filter((id) => !hidden.has(id)));
    expect(await mergeShards(ALL, -1n, 100, read)).toEqual(visible.slice(0, 100));
  });
});
