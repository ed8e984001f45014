import type { types } from 'cassandra-driver';
import type { JobRecord, MessagePatch, MessageRecord, MessageRepository } from '../../contract';
import { bucketOf } from '../buckets';
import { fromId, mapLimit, toId } from '../codec';
import type { CassandraSession } from '../session';
import { CHANNEL_LAST_MESSAGES, JOBS, MESSAGES } from '../tables';
import type { CassandraReactionRepository } from './reaction.repository';
import { SearchPostings } from './search-postings';

const COLUMNS = MESSAGES.columns;
const FIND = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?`;
const FIND_MANY = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? AND message_id IN ?`;
// Newest first within a bucket (the clustering order).
const NEWEST = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? LIMIT ?`;
const OLDER_THAN = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? AND message_id < ? LIMIT ?`;
// Oldest first, for pages after a cursor (reversed back to newest first before returning).
const OLDEST = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? ORDER BY message_id ASC LIMIT ?`;
const NEWER_THAN = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? AND message_id > ?
  ORDER BY message_id ASC LIMIT ?`;
const LAST_ID = 'SELECT message_id FROM messages WHERE channel_id = ? AND bucket = ? LIMIT 1';
const OLDEST_IDS =
  'SELECT message_id FROM messages WHERE channel_id = ? AND bucket = ? ORDER BY message_id ASC LIMIT ?';
const BUCKETS = 'SELECT bucket FROM channel_buckets WHERE channel_id = ?';
const DELETE_BUCKET = 'DELETE FROM messages WHERE channel_id = ? AND bucket = ?';
const FORGET_BUCKET = 'DELETE FROM channel_buckets WHERE channel_id = ? AND bucket = ?';

const KNOWN_BUCKETS_MAX = 50_000;
/** Channels per last-message read: one request for a guild's channels, partitions kept few per request. */
const LAST_IDS_PER_READ = 100;

const NONCE_CLAIM = `INSERT INTO message_nonces (channel_id, author_id, nonce, message_id) VALUES (?, ?, ?, ?)
  IF NOT EXISTS USING TTL ?`;
const NONCE_RELEASE =
  'DELETE FROM message_nonces WHERE channel_id = ? AND author_id = ? AND nonce = ? IF message_id = ?';
const toRecord = MESSAGES.toRecord;
const isMessage = (row: types.Row): boolean => row.get(MESSAGES.present) !== null;

/**
 * Messages in `((channel_id, bucket), message_id DESC)` partitions, bucket = 10-day window of the
 * snowflake time. `channel_buckets` lists the buckets that hold messages, so a history read walks only
 * those (newest first) and never probes the empty windows of a quiet channel. The send path does no
 * read: the message and its bucket marker are two idempotent upserts.
 */
export class CassandraMessageRepository implements MessageRepository {
  /** Buckets this process already marked, so the marker upsert is skipped for the next messages. */
  private readonly knownBuckets = new Set<string>();
  /** Each channel's newest bucket as this process last saw it: where its next latest page likely starts. */
  private readonly newestBuckets = new Map<string, number>();

  /** The message's search posting (migration 0010), written beside the message by send, edit and delete. */
  readonly postings: SearchPostings;

  constructor(
    private readonly db: CassandraSession,
    private readonly reactions: CassandraReactionRepository,
  ) {
    this.postings = new SearchPostings(db);
  }

  /** The message's jobs go with its rows, in the same round trip (see the contract). */
  async create(message: MessageRecord, jobs: readonly JobRecord[] = []): Promise<void> {
    const channelId = toId(message.channelId);
    const bucket = bucketOf(message.id);
    const write = this.db.execute(
      'write',
      MESSAGES.insert,
      MESSAGES.params(message, channelId, bucket, undefined),
      {
        idempotent: true,
      },
    );
    const last = this.db.execute(
      'write',
      CHANNEL_LAST_MESSAGES.write,
      CHANNEL_LAST_MESSAGES.params(channelId, message.id),
      { idempotent: true },
    );
    const queued = jobs.map((job) =>
      this.db.execute('write', JOBS.insert, JOBS.params('pending', job, undefined), { idempotent: true }),
    );
    await Promise.all([
      write,
      last,
      this.markBucket(channelId, bucket),
      this.postings.write(message),
      ...queued,
    ]);
  }

  /**
   * A lightweight transaction on the (channel, author, nonce) row, which lives `ttlMs` (rounded up to a
   * second): paid only by sends that ask for it (`enforce_nonce`). When not applied, Cassandra answers with
   * the row that holds the claim.
   */
  async claimNonce(
    channelId: string,
    authorId: string,
    nonce: string,
    messageId: string,
    ttlMs: number,
  ): Promise<string | null> {
    const ttl = Math.max(1, Math.ceil(ttlMs / 1000));
    const rs = await this.db.execute(
      'lwt',
      NONCE_CLAIM,
      [toId(channelId), toId(authorId), nonce, toId(messageId), ttl],
      { idempotent: false },
    );
    if (rs.wasApplied()) return null;
    const held = rs.first()?.get('message_id') as bigint | null | undefined;
    return held === null || held === undefined ? null : fromId(held);
  }

  async releaseNonce(channelId: string, authorId: string, nonce: string, messageId: string): Promise<void> {
    await this.db.execute('lwt', NONCE_RELEASE, [toId(channelId), toId(authorId), nonce, toId(messageId)], {
      idempotent: false,
    });
  }

  async find(channelId: string, messageId: string): Promise<MessageRecord | null> {
    const row = (
      await this.db.execute('read', FIND, [toId(channelId), bucketOf(messageId), toId(messageId)], {
        idempotent: true,
      })
    ).first();
    return row && isMessage(row) ? toRecord(row) : null;
  }

  async findMany(channelId: string, messageIds: readonly string[]): Promise<MessageRecord[]> {
    const byBucket = new Map<number, bigint[]>();
    for (const id of new Set(messageIds)) {
      const bucket = bucketOf(id);
      byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), toId(id)]);
    }
    const channel = toId(channelId);
    const pages = await Promise.all(
      [...byBucket].map(([bucket, ids]) =>
        this.db.execute('read', FIND_MANY, [channel, bucket, ids], { idempotent: true }),
      ),
    );
    return pages.flatMap((page) => page.rows.filter(isMessage).map(toRecord));
  }

  async update(
    channelId: string,
    messageId: string,
    patch: MessagePatch,
    guildId?: string | null,
  ): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    const set = (column: string, value: unknown) => {
      sets.push(`${column} = ?`);
      params.push(value);
    };
    if (patch.content !== undefined) set('content', patch.content);
    if (patch.editedAt !== undefined) set('edited_at', new Date(patch.editedAt));
    // An emptied mention list is stored as an empty frozen list: a value, not a tombstone.
    if (patch.mentions !== undefined) set('mentions', patch.mentions.map(toId));
    if (patch.mentionRoles !== undefined) set('mention_roles', patch.mentionRoles.map(toId));
    if (patch.mentionEveryone !== undefined) set('mention_everyone', patch.mentionEveryone);
    if (patch.pinned !== undefined) set('pinned', patch.pinned);
    // An emptied list is a value ('[]'), as for mentions: never a tombstone per edit.
    if (patch.embeds !== undefined) set('embeds', JSON.stringify(patch.embeds));
    if (patch.flags !== undefined) set('flags', patch.flags);
    if (sets.length === 0) return;
    await Promise.all([
      this.db.execute(
        'write',
        `UPDATE messages SET ${sets.join(', ')} WHERE channel_id = ? AND bucket = ? AND message_id = ?`,
        [...params, toId(channelId), bucketOf(messageId), toId(messageId)],
        { idempotent: true },
      ),
      this.postings.edit(channelId, messageId, patch, guildId),
    ]);
  }

  async delete(channelId: string, messageId: string, guildId?: string | null): Promise<void> {
    const scope = await this.postings.scope(channelId, messageId, guildId);
    await Promise.all([
      this.postings.remove(scope, messageId),
      this.db.execute('write', MESSAGES.delete, [toId(channelId), bucketOf(messageId), toId(messageId)], {
        idempotent: true,
      }),
      this.reactions.deleteForMessage(channelId, messageId),
    ]);
  }

  async listLatest(channelId: string, limit: number): Promise<MessageRecord[]> {
    return this.walkOlder(toId(channelId), null, limit);
  }

  async listBefore(channelId: string, before: string, limit: number): Promise<MessageRecord[]> {
    return this.walkOlder(toId(channelId), before, limit);
  }

  async listAfter(channelId: string, after: string, limit: number): Promise<MessageRecord[]> {
    return (await this.walkNewer(toId(channelId), after, limit)).reverse();
  }

  async listAround(channelId: string, around: string, limit: number): Promise<MessageRecord[]> {
    const channel = toId(channelId);
    const before = Math.floor(limit / 2);
    const after = Math.max(0, limit - before - 1);
    // Both sides walk the same bucket list: read it once.
    const buckets = this.buckets(channel);
    const [anchor, older, newer] = await Promise.all([
      this.find(channelId, around),
      before > 0 ? this.walkOlder(channel, around, before, buckets) : Promise.resolve([]),
      after > 0 ? this.walkNewer(channel, around, anchorMissingBonus(after), buckets) : Promise.resolve([]),
      buckets,
    ]);
    // Without the anchor message the newer side may take its slot.
    const newerSide = newer.slice(0, anchor ? after : after + 1).reverse();
    return [...newerSide, ...(anchor ? [anchor] : []), ...older];
  }

  /**
   * The stored last message id of each channel: one IN read per 100 channels. A channel without a row
   * (messages from before the table, or none yet) is found the old way once and its row written.
   */
  async lastMessageIds(channelIds: readonly string[]): Promise<Map<string, string>> {
    const last = new Map<string, string>();
    const unique = [...new Set(channelIds)];
    const groups: string[][] = [];
    for (let i = 0; i < unique.length; i += LAST_IDS_PER_READ)
      groups.push(unique.slice(i, i + LAST_IDS_PER_READ));
    const stored = new Set<string>();
    await Promise.all(
      groups.map(async (group) => {
        const rs = await this.db.execute('read', CHANNEL_LAST_MESSAGES.read, [group.map(toId)], {
          idempotent: true,
        });
        for (const row of rs.rows) {
          const channelId = fromId(row.get('channel_id'));
          const id = row.get('last_message_id') as bigint | null;
          stored.add(channelId);
          if (id !== null && id !== CHANNEL_LAST_MESSAGES.none) last.set(channelId, fromId(id));
        }
      }),
    );
    const missing = unique.filter((channelId) => !stored.has(channelId));
    await mapLimit(missing, 16, async (channelId) => {
      const found = await this.probeLastId(toId(channelId));
      if (found !== null) last.set(channelId, found);
    });
    return last;
  }

  /** The last message id found by walking the buckets, stored for the next reads (the lazy backfill). */
  private async probeLastId(channel: bigint): Promise<string | null> {
    for (const bucket of await this.buckets(channel)) {
      const row = (await this.db.execute('read', LAST_ID, [channel, bucket], { idempotent: true })).first();
      if (!row) continue;
      const id = fromId(row.get('message_id'));
      await this.db.execute('write', CHANNEL_LAST_MESSAGES.write, CHANNEL_LAST_MESSAGES.params(channel, id), {
        idempotent: true,
      });
      return id;
    }
    await this.db.execute('write', CHANNEL_LAST_MESSAGES.write, [channel, CHANNEL_LAST_MESSAGES.none, 0n], {
      idempotent: true,
    });
    return null;
  }

  /**
   * Deletes the channel's oldest messages, up to `batch`, with their reactions. A bucket emptied
   * whole goes as one partition tombstone (and leaves channel_buckets); otherwise row tombstones.
   */
  async deleteChannelBatch(channelId: string, batch: number): Promise<number> {
    const channel = toId(channelId);
    const buckets = (await this.buckets(channel)).reverse(); // oldest first
    let deleted = 0;
    for (const bucket of buckets) {
      if (deleted >= batch) break;
      const want = batch - deleted;
      // One more than we may delete tells whether the bucket empties.
      const ids = (
        await this.db.execute('read', OLDEST_IDS, [channel, bucket, want + 1], { idempotent: true })
      ).rows.map((row) => row.get('message_id') as bigint);
      const doomed = ids.slice(0, want);
      if (ids.length <= want) {
        // The bucket's reactions share its partition key: one partition tombstone each.
        await this.reactions.deleteBucket(channel, bucket);
        await this.db.execute('write', DELETE_BUCKET, [channel, bucket], { idempotent: true });
        await this.db.execute('write', FORGET_BUCKET, [channel, bucket], { idempotent: true });
        this.knownBuckets.delete(`${channel}:${bucket}`);
        this.newestBuckets.delete(channel.toString());
      } else {
        // The doomed are the bucket's oldest: their reactions are one clustering range.
        await this.reactions.deleteUpTo(channel, bucket, doomed[doomed.length - 1]);
        await mapLimit(doomed, 16, (id) =>
          this.db.execute('write', MESSAGES.delete, [channel, bucket, id], { idempotent: true }),
        );
      }
      deleted += doomed.length;
    }
    return deleted;
  }

  /** The channel's buckets that hold messages, newest first. */
  async buckets(channel: bigint): Promise<number[]> {
    const buckets = (await this.db.all(BUCKETS, [channel])).map((row) => row.get('bucket') as number);
    if (buckets.length > 0) noteNewest(this.newestBuckets, channel, buckets[0], true);
    return buckets;
  }

  /**
   * Newest first, strictly older than `before` (or from the newest), across buckets. The bucket the page
   * most likely starts in (the cursor's, or the channel's newest as this process last saw it) is read
   * alongside the bucket list instead of after it; the list still decides which buckets count, so a wrong
   * guess costs one read of an unlisted partition, never a wrong page.
   */
  private async walkOlder(
    channel: bigint,
    before: string | null,
    limit: number,
    listed: Promise<number[]> = this.buckets(channel),
  ): Promise<MessageRecord[]> {
    if (limit <= 0) return [];
    const read = (bucket: number, want: number) =>
      before !== null && bucket === bucketOf(before)
        ? this.db.execute('read', OLDER_THAN, [channel, bucket, toId(before), want], { idempotent: true })
        : this.db.execute('read', NEWEST, [channel, bucket, want], { idempotent: true });
    const guess = before !== null ? bucketOf(before) : this.newestBuckets.get(channel.toString());
    const early = guess === undefined ? undefined : read(guess, limit);
    const [buckets] = await Promise.all([listed, early]);
    const out: MessageRecord[] = [];
    const start = before === null ? Number.POSITIVE_INFINITY : bucketOf(before);
    for (const bucket of buckets) {
      if (bucket > start) continue;
      const want = limit - out.length;
      const first = early !== undefined && bucket === guess ? { rs: await early, asked: limit } : undefined;
      await this.fill(
        channel,
        bucket,
        out,
        limit,
        first ?? { rs: await read(bucket, want), asked: want },
        OLDER_THAN,
      );
      if (out.length >= limit) break;
    }
    return out.slice(0, limit);
  }

  /**
   * Takes a bucket's messages into `out` until the page is full or the bucket has no more. Rows without an
   * author (an edit that landed on a message being deleted writes its columns back without the rest) are
   * not messages: they are skipped, and the bucket is read on from the last row seen (`next`: the query
   * that continues past an id in the walk's direction), so they never cut a page short or make it skip the
   * bucket's remaining messages. Each one found is deleted, so the next read does not meet it again.
   */
  private async fill(
    channel: bigint,
    bucket: number,
    out: MessageRecord[],
    limit: number,
    first: { rs: types.ResultSet; asked: number },
    next: string,
  ): Promise<void> {
    let { rs, asked } = first;
    for (;;) {
      const rows = rs.rows;
      for (const row of rows) {
        if (isMessage(row)) out.push(toRecord(row));
        else this.dropHalfRow(channel, bucket, row.get('message_id') as bigint);
      }
      if (out.length >= limit || rows.length < asked) return;
      asked = limit - out.length;
      const last = rows[rows.length - 1].get('message_id') as bigint;
      rs = await this.db.execute('read', next, [channel, bucket, last, asked], { idempotent: true });
    }
  }

  /** Best effort: a row left without its message is deleted; if this fails the next read tries again. */
  private dropHalfRow(channel: bigint, bucket: number, id: bigint): void {
    this.db
      .execute('write', MESSAGES.delete, [channel, bucket, id], { idempotent: true })
      .catch(() => undefined);
  }

  /** Oldest first, strictly newer than `after`, across buckets (the cursor's bucket read with the list). */
  private async walkNewer(
    channel: bigint,
    after: string,
    limit: number,
    listed: Promise<number[]> = this.buckets(channel),
  ): Promise<MessageRecord[]> {
    if (limit <= 0) return [];
    const start = bucketOf(after);
    const read = (bucket: number, want: number) =>
      bucket === start
        ? this.db.execute('read', NEWER_THAN, [channel, bucket, toId(after), want], { idempotent: true })
        : this.db.execute('read', OLDEST, [channel, bucket, want], { idempotent: true });
    const early = read(start, limit);
    const [all] = await Promise.all([listed, early]);
    const buckets = all.filter((b) => b >= start).reverse(); // oldest first
    const out: MessageRecord[] = [];
    for (const bucket of buckets) {
      const want = limit - out.length;
      const first =
        bucket === start ? { rs: await early, asked: limit } : { rs: await read(bucket, want), asked: want };
      await this.fill(channel, bucket, out, limit, first, NEWER_THAN);
      if (out.length >= limit) break;
    }
    return out.slice(0, limit);
  }

  private async markBucket(channel: bigint, bucket: number): Promise<void> {
    const key = `${channel}:${bucket}`;
    if (this.knownBuckets.has(key)) return;
    await this.db.execute('write', MESSAGES.markBucket, [channel, bucket], { idempotent: true });
    if (this.knownBuckets.size >= KNOWN_BUCKETS_MAX) this.knownBuckets.clear();
    this.knownBuckets.add(key);
    noteNewest(this.newestBuckets, channel, bucket, false);
  }
}

/**
 * Remembers a channel's newest bucket: a hint for where its next latest page starts, never trusted alone.
 * A bucket list read replaces it; a bucket this process marks raises it.
 */
function noteNewest(newest: Map<string, number>, channel: bigint, bucket: number, listed: boolean): void {
  const key = channel.toString();
  const known = newest.get(key);
  if (known !== undefined && !listed && known >= bucket) return;
  if (known === undefined && newest.size >= KNOWN_BUCKETS_MAX) newest.clear();
  newest.set(key, bucket);
}

/** One extra on the newer side covers an anchor that is not a message. */
const anchorMissingBonus = (after: number): number => after + 1;
