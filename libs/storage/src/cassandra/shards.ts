/**
 * Partitions that would otherwise grow without bound (a guild's bans, one message's reactors) are split into a
 * fixed number of shards by the user id: `((..., shard), user_id)`. The shard count is part of the data layout:
 * changing it means a migration that moves every row.
 */
export const USER_SHARDS = 16;

const MASK = (1n << 64n) - 1n;

/**
 * The shard of a user id: MurmurHash3's 64-bit finalizer (fmix64) of the whole id, modulo the shard count, so
 * consecutive snowflakes (which differ only in their low, often zero, sequence bits) spread evenly. The one hash
 * of every sharded table (members and the role index too, member-shards.ts): stored rows depend on it.
 */
export function shardOf(id: bigint, shards = USER_SHARDS): number {
  let k = id & MASK;
  k ^= k >> 33n;
  k = (k * 0xff51afd7ed558ccdn) & MASK;
  k ^= k >> 33n;
  k = (k * 0xc4ceb9fe1a85ec53n) & MASK;
  k ^= k >> 33n;
  return Number(k % BigInt(shards));
}

/** Every shard number, for statements that touch all of an entity's partitions. */
export function allShards(shards = USER_SHARDS): number[] {
  return Array.from({ length: shards }, (_, i) => i);
}

/**
 * Reads one page of rows kept in shards, in key order across all of them. Each shard is read from its own
 * cursor in slices (`read` answers the next rows strictly past `cursor` in `order`, at most `n`), the heads are
 * merged, and a shard is read again only when its slice ran out while its rows may still come next: a page costs
 * about `limit` rows plus a slice per shard, whatever the total. Bounded: every read either advances a cursor or
 * ends its shard.
 */
export async function mergeShards<T>(options: {
  shards: number;
  limit: number;
  order: 'asc' | 'desc';
  from: bigint | undefined;
  keyOf: (row: T) => bigint;
  read: (shard: number, cursor: bigint | undefined, n: number) => Promise<T[]>;
}): Promise<T[]> {
  const { shards, limit, order, keyOf, read } = options;
  if (limit <= 0) return [];
  const slice = Math.min(limit, Math.ceil((limit * 1.25) / shards) + 4);
  const state = Array.from({ length: shards }, (_, shard) => ({
    shard,
    rows: [] as T[],
    at: 0,
    cursor: options.from,
    done: false,
  }));
  const before = (a: bigint, b: bigint): boolean => (order === 'asc' ? a < b : a > b);
  const page: T[] = [];
  while (page.length < limit) {
    await Promise.all(
      state
        .filter((s) => !s.done && s.at >= s.rows.length)
        .map(async (s) => {
          s.rows = await read(s.shard, s.cursor, slice);
          s.at = 0;
          s.done = s.rows.length < slice;
          if (s.rows.length > 0) s.cursor = keyOf(s.rows[s.rows.length - 1]);
        }),
    );
    let best: (typeof state)[number] | undefined;
    for (const s of state)
      if (s.at < s.rows.length && (!best || before(keyOf(s.rows[s.at]), keyOf(best.rows[best.at])))) best = s;
    if (!best) break;
    page.push(best.rows[best.at++]);
  }
  return page;
}
