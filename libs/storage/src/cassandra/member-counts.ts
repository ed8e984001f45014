import { ALL_MEMBER_SHARDS } from './member-shards';
import type { CassandraSession } from './session';
import { GUILD_MEMBER_COUNTS } from './tables';

/** Moves a guild's member count. Not idempotent, so never retried: a timeout leaves it to a recount. */
export async function addToMemberCount(db: CassandraSession, guild: bigint, delta: bigint): Promise<void> {
  if (delta === 0n) return;
  await db.execute('write', GUILD_MEMBER_COUNTS.add, [delta, guild], { idempotent: false });
}

/**
 * Brings a guild's member count to the rows of its member shards: the repair after a join or leave whose
 * transaction or counter update timed out (outcome unknown). The rows are counted at the serial consistency,
 * which finishes a Paxos round left in progress on a partition. Reads proportional to the guild, on that
 * repair path only. Returns the count it set.
 */
export async function recountMembers(db: CassandraSession, guild: bigint): Promise<number> {
  const [shards, held] = await Promise.all([
    Promise.all(
      ALL_MEMBER_SHARDS.map((shard) =>
        db.execute('serialRead', GUILD_MEMBER_COUNTS.countMembers, [guild, shard], { idempotent: true }),
      ),
    ),
    db.execute('read', GUILD_MEMBER_COUNTS.read, [guild], { idempotent: true }),
  ]);
  const wanted = shards.reduce((n, rs) => n + ((rs.first()?.get('n') as bigint | null) ?? 0n), 0n);
  const current = (held.first()?.get('n') as bigint | null) ?? 0n;
  await addToMemberCount(db, guild, wanted - current);
  return Number(wanted);
}
