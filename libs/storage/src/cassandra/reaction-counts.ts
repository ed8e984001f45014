import type { CassandraSession } from './session';
import { allShards } from './shards';
import { REACTION_COUNTS, REACTIONS } from './tables';

/** `(channel_id, bucket, message_id, emoji)`: where one (message, emoji) count lives. */
export type CountKey = [channel: bigint, bucket: number, message: bigint, emoji: string];

/** Moves one materialised count. Not idempotent, so never retried: a timeout leaves it to a recount. */
export async function addToCount(db: CassandraSession, key: CountKey, delta: bigint): Promise<void> {
  if (delta === 0n) return;
  await db.execute('write', REACTION_COUNTS.add, [delta, ...key], { idempotent: false });
}

/**
 * Brings one (message, emoji) count to the number of its reaction rows: the repair for a lightweight
 * transaction or counter update that timed out (its outcome unknown), and how the bulk writers keep counts
 * after writing reactions. The rows are read at the serial consistency, which also finishes a Paxos round
 * left in progress on the partition, so the count matches what every later LWT sees. A recount is the only
 * read proportional to the reactors (one COUNT per shard), and it runs only on those paths. Returns the count it set.
 */
export async function recount(db: CassandraSession, key: CountKey): Promise<number> {
  const [channel, bucket, message, emoji] = key;
  const [shards, held] = await Promise.all([
    Promise.all(
      allShards().map((shard) =>
        db.execute('serialRead', REACTIONS.countOf, [channel, bucket, shard, message, emoji], {
          idempotent: true,
        }),
      ),
    ),
    db.execute('read', REACTION_COUNTS.one, key, { idempotent: true }),
  ]);
  const wanted = shards.reduce((sum, rs) => sum + ((rs.first()?.get('n') as bigint | null) ?? 0n), 0n);
  const current = (held.first()?.get('n') as bigint | null) ?? 0n;
  await addToCount(db, key, wanted - current);
  return Number(wanted);
}
