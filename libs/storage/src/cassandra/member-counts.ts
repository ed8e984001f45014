import type { CassandraSession } from './session';
import { GUILD_MEMBER_COUNTS } from './tables';

/** Moves a guild's member count. Not idempotent, so never retried: a timeout leaves it to a recount. */
export async function addToMemberCount(db: CassandraSession, guild: bigint, delta: bigint): Promise<void> {
  if (delta === 0n) return;
  await db.execute('write', GUILD_MEMBER_COUNTS.add, [delta, guild], { idempotent: false });
}

/**
 * Brings a guild's member count to the rows of its members partition: the repair after a join or leave
 * whose transaction or counter update timed out (outcome unknown). The rows are counted at the serial
 * consistency, which finishes a Paxos round left in progress on the partition. A read proportional to the
 * guild, on that repair path only. Returns the count it set.
 */
export async function recountMembers(db: CassandraSession, guild: bigint): Promise<number> {
  const [rows, held] = await Promise.all([
    db.execute('serialRead', GUILD_MEMBER_COUNTS.countMembers, [guild], { idempotent: true }),
    db.execute('read', GUILD_MEMBER_COUNTS.read, [guild], { idempotent: true }),
  ]);
  const wanted = (rows.first()?.get('n') as bigint | null) ?? 0n;
  const current = (held.first()?.get('n') as bigint | null) ?? 0n;
  await addToMemberCount(db, guild, wanted - current);
  return Number(wanted);
}
