import type { Page, ReactionCount, ReactionRepository } from '../../contract';
import { bucketOf } from '../buckets';
import { fromId, mapLimit, toId } from '../codec';
import { cassandraDriver } from '../driver';
import { DatabaseUnavailableError } from '../errors';
import { addToCount, type CountKey, recount } from '../reaction-counts';
import type { CassandraSession } from '../session';
import { USER_SHARDS, allShards, mergeShards, shardOf } from '../shards';
import { REACTION_COUNTS, REACTIONS } from '../tables';

/** Partition key of every statement: (channel_id, bucket, shard), bucket = the message's (as in `messages`). */
const KEY = 'channel_id = ? AND bucket = ? AND shard = ? AND message_id = ?';
const USERS_FIRST = `SELECT user_id FROM reactions_by_shard WHERE ${KEY} AND emoji = ? LIMIT ?`;
const USERS_AFTER = `SELECT user_id FROM reactions_by_shard WHERE ${KEY} AND emoji = ? AND user_id > ? LIMIT ?`;
/** The viewer's own reactions among the (message, emoji) pairs that have any: point reads in the viewer's shard. */
const MINE = `SELECT message_id, emoji FROM reactions_by_shard
  WHERE channel_id = ? AND bucket = ? AND shard = ? AND (message_id, emoji, user_id) IN ?`;
const DELETE_MESSAGE = `DELETE FROM reactions_by_shard WHERE ${KEY}`;
const DELETE_SHARD = 'DELETE FROM reactions_by_shard WHERE channel_id = ? AND bucket = ? AND shard = ?';

/** Messages whose emojis are remembered for the next count (`emojisSeen`); past it the memory starts over. */
const EMOJIS_SEEN_MAX = 50_000;

/** Statement parameters that address one message's rows in one shard: channel, bucket, shard, message. */
function messageKey(channelId: string, messageId: string, shard: number): [bigint, number, number, bigint] {
  return [toId(channelId), bucketOf(messageId), shard, toId(messageId)];
}

/**
 * Reactions in `((channel_id, bucket, shard), message_id, emoji, user_id)` partitions, bucket = the message's
 * bucket (`bucketOf`, the same as `messages`), shard = the reacting user's (`shardOf`, USER_SHARDS of them, so a
 * message with 100,000 reactors is 16 partitions, not one), and their counts materialised in `reaction_counts`
 * (`(channel_id, bucket)`, one counter per message and emoji). Listing a (message, emoji)'s reactors merges the
 * shards' slices in user id order from the cursor.
 *
 * Adding and removing are lightweight transactions on the one reaction row (IF NOT EXISTS / IF EXISTS):
 * whichever of several identical concurrent calls wins the transaction is the only one that reports true
 * and moves the counter, so duplicates and retries never count twice and a viral message costs the same
 * per reaction as a fresh one (nothing is read but that row). When the transaction or the counter update
 * times out its outcome is unknown: the (message, emoji) is then recounted from its rows (`recount`) before
 * the 503 goes back, and a recount failing too leaves the next timeout's recount to fix it.
 *
 * Counts for any set of messages cost one slice of `reaction_counts` per bucket they fall in (a history
 * page: one, two at a bucket edge) plus one read of the viewer's own reactions per bucket that has any, all
 * buckets in parallel: never a read per message, never an aggregation over the reactors. The viewer's
 * reactions are point reads of (message, emoji, viewer) keys, so they need the emojis: the ones this process
 * last counted on each message (`emojisSeen`) are asked beside the counts, and only emojis it had not seen
 * are asked after them. A page read again (a popular message's, by its many viewers) is then one round trip.
 */
export class CassandraReactionRepository implements ReactionRepository {
  /** The emojis each message had at this process's last count of it, `channel:message` -> emoji keys. */
  private readonly emojisSeen = new Map<string, readonly string[]>();

  constructor(private readonly db: CassandraSession) {}

  add(channelId: string, messageId: string, emoji: string, userId: string): Promise<boolean> {
    return this.change(REACTIONS.insertIfAbsent, 1n, channelId, messageId, emoji, userId);
  }

  remove(channelId: string, messageId: string, emoji: string, userId: string): Promise<boolean> {
    return this.change(REACTIONS.deleteIfPresent, -1n, channelId, messageId, emoji, userId);
  }

  async listUsers(channelId: string, messageId: string, emoji: string, page: Page): Promise<string[]> {
    const users = await mergeShards<bigint>({
      shards: USER_SHARDS,
      limit: Math.max(1, page.limit),
      order: 'asc',
      from: page.after === undefined ? undefined : toId(page.after),
      keyOf: (user) => user,
      read: async (shard, cursor, n) => {
        const key = messageKey(channelId, messageId, shard);
        const rs =
          cursor === undefined
            ? await this.db.execute('read', USERS_FIRST, [...key, emoji, n], { idempotent: true })
            : await this.db.execute('read', USERS_AFTER, [...key, emoji, cursor, n], { idempotent: true });
        return rs.rows.map((row) => row.get('user_id') as bigint);
      },
    });
    return users.map(fromId);
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
    const mineOf = async (bucket: number, pairs: readonly { message: bigint; emoji: string }[]) => {
      if (pairs.length === 0) return [];
      const { Tuple } = cassandraDriver().types;
      const keys = pairs.map((p) => new Tuple(p.message, p.emoji, viewer));
      return (await this.db.all(MINE, [channel, bucket, shardOf(viewer), keys])).map(
        (row) => `${row.get('message_id') as bigint}:${row.get('emoji') as string}`,
      );
    };
    await Promise.all(
      [...byBucket].map(async ([bucket, ids]) => {
        // The viewer's reactions among the emojis seen last time, read beside the counts.
        const guessed = [...ids.keys()].flatMap((message) =>
          (this.emojisSeen.get(`${channel}:${message}`) ?? []).map((emoji) => ({ message, emoji })),
        );
        const [rows, guessedMine] = await Promise.all([
          this.db.all(REACTION_COUNTS.ofMessages, [channel, bucket, [...ids.keys()]]),
          mineOf(bucket, guessed),
        ]);
        // A counter at 0 is an emoji whose last reaction went (counter rows are not deleted one by one).
        const counts = rows
          .map((row) => ({
            message: row.get('message_id') as bigint,
            emoji: row.get('emoji') as string,
            count: Number((row.get('n') as bigint | null) ?? 0n),
          }))
          .filter((c) => c.count > 0);
        this.noteEmojis(channel, ids.keys(), counts);
        if (counts.length === 0) return;
        // Emojis not guessed (new since, or a first read): their viewer's reactions after the counts.
        const asked = new Set(guessed.map((p) => `${p.message}:${p.emoji}`));
        const mine = new Set([
          ...guessedMine,
          ...(await mineOf(
            bucket,
            counts.filter((c) => !asked.has(`${c.message}:${c.emoji}`)),
          )),
        ]);
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

  /** Remembers the emojis counted on each message read (forgetting those that have none now). */
  private noteEmojis(
    channel: bigint,
    messages: Iterable<bigint>,
    counts: readonly { message: bigint; emoji: string }[],
  ): void {
    const byMessage = new Map<bigint, string[]>();
    for (const c of counts) byMessage.set(c.message, [...(byMessage.get(c.message) ?? []), c.emoji]);
    for (const message of messages) {
      const key = `${channel}:${message}`;
      const emojis = byMessage.get(message);
      if (emojis === undefined) {
        this.emojisSeen.delete(key);
        continue;
      }
      if (!this.emojisSeen.has(key) && this.emojisSeen.size >= EMOJIS_SEEN_MAX) this.emojisSeen.clear();
      this.emojisSeen.set(key, emojis);
    }
  }

  /**
   * Deletes the message's reactions and brings its counters to 0 by their own negatives: a deleted counter
   * cannot be counted from zero again (an increment after the delete brings the old value back), and a
   * message's counters are one row per emoji, so reading them is small.
   */
  async deleteForMessage(channelId: string, messageId: string): Promise<void> {
    const [channel, bucket, message] = [toId(channelId), bucketOf(messageId), toId(messageId)];
    const [, counters] = await Promise.all([
      mapLimit(allShards(), USER_SHARDS, (shard) =>
        this.db.execute('write', DELETE_MESSAGE, messageKey(channelId, messageId, shard), {
          idempotent: true,
        }),
      ),
      this.db.all(REACTION_COUNTS.ofMessages, [channel, bucket, [message]]),
    ]);
    await Promise.all(
      counters.map((row) =>
        addToCount(
          this.db,
          [channel, bucket, message, row.get('emoji') as string],
          -((row.get('n') as bigint | null) ?? 0n),
        ),
      ),
    );
  }

  /**
   * Deletes every reaction (and count) of a bucket's messages (partition tombstones: one per shard). Purged
   * messages never take reactions again, so their counters can be deleted outright.
   */
  async deleteBucket(channel: bigint, bucket: number): Promise<void> {
    await Promise.all([
      mapLimit(allShards(), USER_SHARDS, (shard) =>
        this.db.execute('write', DELETE_SHARD, [channel, bucket, shard], { idempotent: true }),
      ),
      this.db.execute('write', REACTION_COUNTS.deleteBucket, [channel, bucket], { idempotent: true }),
    ]);
  }

  /** One LWT on the reaction row; its winner alone moves the count; an unknown outcome recounts. */
  private async change(
    statement: string,
    delta: bigint,
    channelId: string,
    messageId: string,
    emoji: string,
    userId: string,
  ): Promise<boolean> {
    const key = REACTIONS.key(channelId, messageId, emoji, userId);
    const countKey: CountKey = [toId(channelId), bucketOf(messageId), toId(messageId), emoji];
    try {
      const rs = await this.db.execute('lwt', statement, key, { idempotent: false });
      if (!rs.wasApplied()) return false;
      await addToCount(this.db, countKey, delta);
      return true;
    } catch (err) {
      if (err instanceof DatabaseUnavailableError) await recount(this.db, countKey).catch(() => undefined);
      throw err;
    }
  }
}
