import type { types } from 'cassandra-driver';
import { mapLimit } from './codec';
import { memberShard } from './member-shards';
import type { CassandraSession } from './session';
import { scanTable } from './table-scan';
import type { Statement } from './tables';

/** The columns `members` has when 0045 runs (0001 and 0019), with the write time of each. */
const OLD_MEMBERS = `SELECT guild_id, user_id, nick, roles, joined_at, communication_disabled_until,
  WRITETIME(joined_at) AS t_joined, WRITETIME(nick) AS t_nick, WRITETIME(roles) AS t_roles,
  WRITETIME(communication_disabled_until) AS t_timeout FROM members`;
const COPY_MEMBER = `INSERT INTO guild_members (guild_id, shard, user_id, nick, roles, joined_at, communication_disabled_until)
  VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`;
const COPY_HOLDER =
  'INSERT INTO members_by_role (guild_id, role_id, shard, user_id) VALUES (?, ?, ?, ?) USING TIMESTAMP ?';
/** Rows per unlogged single-partition batch, and batches in flight. */
const BATCH_ROWS = 64;
const WIDTH = 8;

/** The newest write time among a row's cells (microseconds). */
function writtenAt(row: types.Row): bigint {
  let newest = 0n;
  for (const column of ['t_joined', 't_nick', 't_roles', 't_timeout']) {
    const at = row.get(column) as { toString(): string } | null;
    if (at !== null && BigInt(at.toString()) > newest) newest = BigInt(at.toString());
  }
  return newest;
}

/**
 * 0045: copies the one-partition-per-guild `members` table into the sharded `guild_members`, and each member's
 * roles into `members_by_role` (token order, a page at a time, rows of one partition in unlogged batches). Each
 * row is written at its source row's newest write time, so a change a new process made since (a role update, a
 * leave's tombstone) wins over the copy, and a rerun writes the same cells again. A row without its join time
 * (an update that raced a leave) is no member and is not copied. Member counts are unchanged: they count members,
 * wherever the rows are.
 */
export async function shardStoredMembers(
  session: CassandraSession,
  renew: () => Promise<void>,
): Promise<number> {
  let copied = 0;
  await scanTable(session, renew, OLD_MEMBERS, async (rows) => {
    const partitions = new Map<string, Statement[]>();
    const add = (key: string, statement: Statement) => {
      const list = partitions.get(key);
      if (list) list.push(statement);
      else partitions.set(key, [statement]);
    };
    for (const row of rows) {
      if (row.get('joined_at') === null) continue;
      const guild = row.get('guild_id') as bigint;
      const user = row.get('user_id') as bigint;
      const shard = memberShard(user);
      const at = writtenAt(row);
      const roles = [...((row.get('roles') as Iterable<bigint> | null) ?? [])];
      const unsetIfNull = (column: string): unknown => row.get(column) ?? undefined;
      add(`${guild}:${shard}`, {
        query: COPY_MEMBER,
        params: [
          guild,
          shard,
          user,
          unsetIfNull('nick'),
          unsetIfNull('roles'),
          row.get('joined_at'),
          unsetIfNull('communication_disabled_until'),
          at,
        ],
      });
      for (const role of roles)
        add(`${guild}:${role}:${shard}`, { query: COPY_HOLDER, params: [guild, role, shard, user, at] });
      copied++;
    }
    const batches: Statement[][] = [];
    for (const list of partitions.values())
      for (let i = 0; i < list.length; i += BATCH_ROWS) batches.push(list.slice(i, i + BATCH_ROWS));
    await mapLimit(batches, WIDTH, (batch) => session.batch(batch, true, false));
  });
  return copied;
}
