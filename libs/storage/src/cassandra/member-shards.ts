import { USER_SHARDS, shardOf } from './shards';

/**
 * Members of a guild (and holders of a role) are spread over MEMBER_SHARDS partitions (migration 0045), so no
 * guild is one unbounded partition. The shard is a function of the user id alone: a point read or write knows
 * its partition without reading anything. Fixed for every guild; changing it needs a migration that moves rows.
 */
export const MEMBER_SHARDS = USER_SHARDS;

export const ALL_MEMBER_SHARDS: readonly number[] = Array.from({ length: MEMBER_SHARDS }, (_, i) => i);

/** The shard of a member's rows: the hash every sharded table uses (shards.ts), over MEMBER_SHARDS. */
export function memberShard(userId: bigint): number {
  return shardOf(userId, MEMBER_SHARDS);
}

/** Groups ids by their shard. */
export function byShard(userIds: readonly bigint[]): Map<number, bigint[]> {
  const groups = new Map<number, bigint[]>();
  for (const id of userIds) {
    const shard = memberShard(id);
    const group = groups.get(shard);
    if (group) group.push(id);
    else groups.set(shard, [id]);
  }
  return groups;
}

/** One shard's rows after a cursor, at most `limit`, in user id order (its clustering order). */
export type ShardReader<T> = (shard: number, after: bigint, limit: number) => Promise<ShardSlice<T>>;

export interface ShardSlice<T> {
  /** The rows that count (half rows left out), ascending by id. */
  items: { id: bigint; item: T }[];
  /** The last user id the read returned (counted or not), null when it returned nothing. */
  last: bigint | null;
  /** Fewer rows came back than were asked for: the shard holds nothing after these. */
  exhausted: boolean;
}

/** Rounds of refills a merge makes at most before it answers with what it has proven. */
const MAX_ROUNDS = 12;

/**
 * The first `limit` items after `after` in user id order across every shard. Each shard is read from the
 * cursor a slice a little larger than its expected share of the page (hashing spreads ids evenly), all in
 * parallel; an item is answered only once every shard that could still hold a smaller id has been read past
 * it. Shards that fall short are read again, twice as far each round, so a skewed page costs a few more
 * rounds, never a read of the whole guild. Memory and rows read are bounded by a few times the page.
 */
export async function mergeShards<T>(
  shards: readonly number[],
  after: bigint,
  limit: number,
  read: ShardReader<T>,
): Promise<T[]> {
  const share = limit / shards.length;
  let slice = Math.min(limit, Math.ceil(share + 3 * Math.sqrt(share) + 2));
  const states = shards.map((shard) => ({
    shard,
    items: [] as { id: bigint; item: T }[],
    cursor: after,
    exhausted: false,
  }));
  let pending = states;
  for (let round = 0; ; round++) {
    const size = slice;
    await Promise.all(
      pending.map(async (state) => {
        const got = await read(state.shard, state.cursor, size);
        state.items.push(...got.items);
        if (got.last !== null) state.cursor = got.last;
        state.exhausted = got.exhausted;
      }),
    );
    const all = states.flatMap((s) => s.items).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // The limit-th smallest id seen bounds the page: a shard read past it (or to its end) can add nothing below.
    const bound = all.length >= limit ? all[limit - 1].id : null;
    pending = states.filter((s) => !s.exhausted && (bound === null || s.cursor < bound));
    if (pending.length === 0 || round + 1 >= MAX_ROUNDS) {
      // Only what every unfinished shard has been read past is proven to be in order.
      const open = states.filter((s) => !s.exhausted).map((s) => s.cursor);
      const proven = open.length === 0 ? null : open.reduce((a, b) => (b < a ? b : a));
      return all
        .filter((e) => proven === null || e.id <= proven)
        .slice(0, limit)
        .map((e) => e.item);
    }
    slice = Math.min(Math.max(slice * 2, 8), 5_000);
  }
}
