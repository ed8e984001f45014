import type { types } from 'cassandra-driver';
import { bucketOf } from './buckets';
import { mapLimit } from './codec';
import type { CassandraSession } from './session';
import { shardOf } from './shards';
import { ATTACHMENTS, BANS, REACTIONS, type Statement } from './tables';

const PAGE = 1000;
const WIDTH = 32;

/**
 * Walks a whole table in token order, a page at a time, writing each page's statements (upserts) before the
 * next is read, and renewing the migration lease as it goes. Memory is one page whatever the table's size.
 */
async function copyPaged(
  session: CassandraSession,
  renew: () => Promise<void>,
  query: string,
  statementsOf: (row: types.Row) => Statement[],
): Promise<number> {
  let pageState: string | undefined;
  let copied = 0;
  let renewed = Date.now();
  do {
    const rs = await session.execute('read', query, [], { idempotent: true, fetchSize: PAGE, pageState });
    await mapLimit(rs.rows.flatMap(statementsOf), WIDTH, (s) =>
      session.execute('write', s.query, s.params, { idempotent: true }),
    );
    copied += rs.rows.length;
    pageState = rs.pageState ?? undefined;
    if (Date.now() - renewed > 30_000) {
      await renew();
      renewed = Date.now();
    }
  } while (pageState);
  return copied;
}

/**
 * 0046: copies the rows of the unbounded partitions into their bounded tables: `bans` into `bans_by_shard`,
 * `reactions_by_bucket` into `reactions_by_shard` (the counts in `reaction_counts` keep their key), and
 * `attachments_by_channel` into `attachments_by_channel_bucket` with its bucket list. Upserts of the same
 * values, so a rerun (or a copy overlapping writes the new code already made) leaves the same rows. Half rows
 * (an update that raced a delete: no `created_at`, no `user_id`) are not copied.
 */
export async function copyToBoundedPartitions(
  session: CassandraSession,
  renew: () => Promise<void>,
): Promise<{ bans: number; reactions: number; attachments: number }> {
  const bans = await copyPaged(session, renew, `SELECT ${BANS.columns} FROM bans`, (row) =>
    row.get(BANS.present) === null ? [] : [{ query: BANS.insert, params: BANS.params(BANS.toRecord(row)) }],
  );
  const reactions = await copyPaged(
    session,
    renew,
    'SELECT channel_id, bucket, message_id, emoji, user_id FROM reactions_by_bucket',
    (row) => {
      const user = row.get('user_id') as bigint | null;
      if (user === null) return [];
      const params: unknown[] = [row.get('channel_id'), row.get('bucket'), shardOf(user)];
      params.push(row.get('message_id'), row.get('emoji'), user);
      return [{ query: REACTIONS.insert, params }];
    },
  );
  const attachments = await copyPaged(
    session,
    renew,
    'SELECT channel_id, id FROM attachments_by_channel',
    (row) => {
      const [channel, id] = [row.get('channel_id') as bigint, row.get('id') as bigint];
      return [
        { query: ATTACHMENTS.markBucket, params: [channel, bucketOf(id.toString())] },
        { query: ATTACHMENTS.index, params: ATTACHMENTS.indexKey(channel, id) },
      ];
    },
  );
  return { bans, reactions, attachments };
}
