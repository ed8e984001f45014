import type { Page, ReactionCount, ReactionRepository } from '../../contract';
import { bucketOf } from '../buckets';
import { fromId, toId } from '../codec';
import { cassandraDriver } from '../driver';
import type { CassandraSession } from '../session';
import { REACTIONS } from '../tables';

/** Partition key of every statement: (channel_id, bucket), the bucket of the message (as in `messages`). */
const KEY = 'channel_id = ? AND bucket = ? AND message_id = ?';
const ONE = `SELECT user_id FROM reactions_by_bucket WHERE ${KEY} AND emoji = ? AND user_id = ?`;
const USERS_FIRST = `SELECT user_id FROM reactions_by_bucket WHERE ${KEY} AND emoji = ? LIMIT ?`;
const USERS_AFTER = `SELECT user_id FROM reactions_by_bucket WHERE ${KEY} AND emoji = ? AND user_id > ? LIMIT ?`;
/**
 * Aggregated by the replica over the requested messages of one bucket partition (a multi-slice read of one
 * partition): one row per (message, emoji) comes back, whatever the number of reactors.
 */
const COUNTS = `SELECT message_id, emoji, COUNT(*) AS n FROM reactions_by_bucket
  WHERE channel_id = ? AND bucket = ? AND message_id IN ? GROUP BY message_id, emoji`;
/** The viewer's own reactions among the (message, emoji) pairs that have any: point reads in one partition. */
const MINE = `SELECT message_id, emoji FROM reactions_by_bucket
  WHERE channel_id = ? AND bucket = ? AND (message_id, emoji, user_id) IN ?`;
const DELETE_MESSAGE = `DELETE FROM reactions_by_bucket WHERE ${KEY}`;
/** Every reaction of a bucket's messages up to `message_id` (a channel purge deletes oldest first). */
const DELETE_UP_TO =
  'DELETE FROM reactions_by_bucket WHERE channel_id = ? AND bucket = ? AND message_id <= ?';
const DELETE_BUCKET = 'DELETE FROM reactions_by_bucket WHERE channel_id = ? AND bucket = ?';

/** Statement parameters that address one message's rows: channel, bucket, message. */
function messageKey(channelId: string, messageId: string): [bigint, number, bigint] {
  return [toId(channelId), bucketOf(messageId), toId(messageId)];
}

/**
 * Reactions in `((channel_id, bucket), message_id, emoji, user_id)` partitions, bucket = the message's
 * bucket (`bucketOf`, the same as `messages`). Adding and removing are idempotent upserts and deletes; the
 * boolean they return comes from a read just before (two identical adds racing may both report true, the
 * stored state is right either way). Counts for any set of messages cost one aggregating read per bucket
 * they fall in (a history page: one, two at a bucket edge), plus one read of the viewer's own reactions per
 * bucket that has any, all buckets in parallel: never a read per message, never a scan of a channel.
 */
export class CassandraReactionRepository implements ReactionRepository {
  constructor(private readonly db: CassandraSession) {}

  async add(channelId: string, messageId: string, emoji: string, userId: string): Promise<boolean> {
    const key = REACTIONS.key(channelId, messageId, emoji, userId);
    if (await this.has(key)) return false;
    await this.db.execute('write', REACTIONS.insert, key, { idempotent: true });
    return true;
  }

  async remove(channelId: string, messageId: string, emoji: string, userId: string): Promise<boolean> {
    const key = REACTIONS.key(channelId, messageId, emoji, userId);
    if (!(await this.has(key))) return false;
    await this.db.execute('write', REACTIONS.delete, key, { idempotent: true });
    return true;
  }

  async listUsers(channelId: string, messageId: string, emoji: string, page: Page): Promise<string[]> {
    const limit = Math.max(1, page.limit);
    const key = messageKey(channelId, messageId);
    const rs =
      page.after === undefined
        ? await this.db.execute('read', USERS_FIRST, [...key, emoji, limit], { idempotent: true })
        : await this.db.execute('read', USERS_AFTER, [...key, emoji, toId(page.after), limit], {
            idempotent: true,
          });
    return rs.rows.map((row) => fromId(row.get('user_id')));
  }

  async counts(channelId: string, messageIds: readonly string[], viewerId: string): Promise<ReactionCount[]> {
    const channel = toId(channelId);
    const viewer = toId(viewerId);
    // Requested ids by bucket (duplicates dropped); answers keep the caller's spelling of each id.
    const byBucket = new Map<number, Map<bigint, string>>();
    for (const messageId of messageIds) {
      const bucket = bucketOf(messageId);
      const ids = byBucket.get(bucket) ?? new Map<bigint, string>();
      ids.set(toId(messageId), messageId);
      byBucket.set(bucket, ids);
    }
    const found = new Map<string, ReactionCount[]>();
    await Promise.all(
      [...byBucket].map(async ([bucket, ids]) => {
        const rows = await this.db.all(COUNTS, [channel, bucket, [...ids.keys()]]);
        if (rows.length === 0) return;
        const counts = rows.map((row) => ({
          message: row.get('message_id') as bigint,
          emoji: row.get('emoji') as string,
          count: Number(row.get('n') as bigint),
        }));
        const { Tuple } = cassandraDriver().types;
        const pairs = counts.map((c) => new Tuple(c.message, c.emoji, viewer));
        const mine = new Set(
          (await this.db.all(MINE, [channel, bucket, pairs])).map(
            (row) => `${row.get('message_id') as bigint}:${row.get('emoji') as string}`,
          ),
        );
        for (const c of counts) {
          const messageId = ids.get(c.message);
          if (messageId === undefined) continue;
          const list = found.get(messageId) ?? [];
          list.push({ messageId, emoji: c.emoji, count: c.count, me: mine.has(`${c.message}:${c.emoji}`) });
          found.set(messageId, list);
        }
      }),
    );
    // In the order the messages were asked for, each message's emojis in clustering (emoji) order.
    const seen = new Set<string>();
    return messageIds.flatMap((messageId) => {
      if (seen.has(messageId)) return [];
      seen.add(messageId);
      return found.get(messageId) ?? [];
    });
  }

  async deleteForMessage(channelId: string, messageId: string): Promise<void> {
    await this.db.execute('write', DELETE_MESSAGE, messageKey(channelId, messageId), { idempotent: true });
  }

  /** Deletes the reactions of a bucket's messages with ids up to `messageId` (one range tombstone). */
  async deleteUpTo(channel: bigint, bucket: number, messageId: bigint): Promise<void> {
    await this.db.execute('write', DELETE_UP_TO, [channel, bucket, messageId], { idempotent: true });
  }

  /** Deletes every reaction of a bucket's messages (one partition tombstone). */
  async deleteBucket(channel: bigint, bucket: number): Promise<void> {
    await this.db.execute('write', DELETE_BUCKET, [channel, bucket], { idempotent: true });
  }

  private async has(key: unknown[]): Promise<boolean> {
    return (await this.db.execute('read', ONE, key, { idempotent: true })).rowLength > 0;
  }
}
