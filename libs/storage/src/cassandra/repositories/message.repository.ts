import type { types } from 'cassandra-driver';
import type { JobRecord, MessagePatch, MessageRecord, MessageRepository } from '../../contract';
import { bucketAt, bucketOf } from '../buckets';
import { fromId, mapLimit, toId } from '../codec';
import { HotReadCache } from '../hot-reads';
import type { CassandraSession } from '../session';
import { CHANNEL_LAST_MESSAGES, MESSAGES, MESSAGES_BY_AUTHOR, toAttachmentUdt } from '../tables';
import type { CassandraJobStore } from './job.store';
import type { CassandraReactionRepository } from './reaction.repository';
import { SearchPostings } from './search-postings';

const COLUMNS = MESSAGES.columns;
const FIND = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?`;
const FIND_MANY = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? AND message_id IN ?`;
// Newest first within a bucket (the clustering order).
const NEWEST = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? LIMIT ?`;
const OLDER_THAN = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? AND message_id < ? LIMIT ?`;
// A page around a message: the message itself and the older ones, in one slice.
const AT_OR_OLDER = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? AND message_id <= ? LIMIT ?`;
// Oldest first, for pages after a cursor (reversed back to newest first before returning).
const OLDEST = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? ORDER BY message_id ASC LIMIT ?`;
const NEWER_THAN = `SELECT ${COLUMNS} FROM messages WHERE channel_id = ? AND bucket = ? AND message_id > ?
  ORDER BY message_id ASC LIMIT ?`;
const LAST_ID = 'SELECT message_id FROM messages WHERE channel_id = ? AND bucket = ? LIMIT 1';
const BUCKETS = 'SELECT bucket FROM channel_buckets WHERE channel_id = ?';
const DELETE_BUCKET = 'DELETE FROM messages WHERE channel_id = ? AND bucket = ?';
const FORGET_BUCKET = 'DELETE FROM channel_buckets WHERE channel_id = ? AND bucket = ?';

const KNOWN_BUCKETS_MAX = 50_000;
/** Above every snowflake: the first page of a bucket. */
const MAX_ID = 2n ** 63n - 1n;
/** Buckets a purge step removes (concurrently): a few seconds of writes at most, then the job yields. */
const PURGE_BUCKETS_PER_STEP = 8;
/** Buckets a history walk reads at once once the page proves sparse (the first bucket is read alone). */
const PARALLEL_BUCKETS = 4;
/**
 * How far a snowflake's time may lie from the moment its row is written (id made before a slow write, another
 * node's clock): the window a cached bucket list is widened by (see `buckets`).
 */
const NEW_BUCKET_SLACK_MS = 120_000;
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
  /** Each channel's bucket list as read, with when (coalesced, kept `bucket_list_ttl`; see `buckets`). */
  readonly bucketLists: HotReadCache<{ buckets: number[]; readAt: number }>;

  /** The message's search posting (migration 0010), written beside the message by send, edit and delete. */
  readonly postings: SearchPostings;

  constructor(
    private readonly db: CassandraSession,
    private readonly reactions: CassandraReactionRepository,
    private readonly jobs: CassandraJobStore,
  ) {
    this.postings = new SearchPostings(db);
    this.bucketLists = new HotReadCache(
      'channel_buckets',
      db.settings.cache_entries,
      db.settings.bucket_list_ttl,
    );
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
    const byAuthor = this.db.execute(
      'write',
      MESSAGES_BY_AUTHOR.insert,
      MESSAGES_BY_AUTHOR.params(message, bucket),
      {
        idempotent: true,
      },
    );
    const queued = jobs.map((job) => {
      const { query, params } = this.jobs.enqueueStatement(job);
      return this.db.execute('write', query, params, { idempotent: true });
    });
    // The search posting follows the message's row, off the send's path (search-postings.ts): started here,
    // before this send resolves, so a search through this process after it waits for it.
    write.then(
      () => this.postings.write(message),
      () => undefined,
    );
    await Promise.all([write, last, byAuthor, this.markBucket(channelId, bucket), ...queued]);
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
    if (patch.attachments !== undefined) set('attachments', patch.attachments.map(toAttachmentUdt));
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

  /**
   * Two slices side by side, both starting in the anchor's bucket: the anchor with the older messages (one
   * slice, `message_id <= anchor`: no read of the anchor on its own) and the newer ones.
   */
  async listAround(channelId: string, around: string, limit: number): Promise<MessageRecord[]> {
    const channel = toId(channelId);
    const before = Math.floor(limit / 2);
    const after = Math.max(0, limit - before - 1);
    // Both sides walk the same bucket list: read it once.
    const buckets = this.buckets(channel);
    const [older, newer] = await Promise.all([
      this.walkOlder(channel, around, before + 1, buckets, true),
      after > 0 ? this.walkNewer(channel, around, anchorMissingBonus(after), buckets) : Promise.resolve([]),
      buckets,
    ]);
    const anchor = older.length > 0 && toId(older[0].id) === toId(around) ? older[0] : null;
    const olderSide = anchor ? older.slice(1) : older.slice(0, before);
    // Without the anchor message the newer side may take its slot.
    const newerSide = newer.slice(0, anchor ? after : after + 1).reverse();
    return [...newerSide, ...(anchor ? [anchor] : []), ...olderSide];
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
   * One step of a deleted channel's purge: its oldest buckets, up to `PURGE_BUCKETS_PER_STEP`, each removed
   * whole by partition deletes (messages, reactions, reaction counts), then struck from channel_buckets.
   * Nothing is read but the bucket list, so a bucket of any size goes in four writes and no read ever walks
   * the tombstones a purge leaves. Every write is idempotent and the bucket is forgotten last: a purge killed
   * mid-way resumes from the bucket list.
   */
  async purgeChannelStep(channelId: string): Promise<boolean> {
    const channel = toId(channelId);
    const buckets = (await this.buckets(channel)).reverse().slice(0, PURGE_BUCKETS_PER_STEP); // oldest first
    if (buckets.length === 0) {
      // The channel's remaining derived rows, once every bucket is gone.
      await this.db.execute('write', CHANNEL_LAST_MESSAGES.delete, [channel], { idempotent: true });
      this.newestBuckets.delete(channel.toString());
      this.bucketLists.forget(channel.toString());
      return false;
    }
    await mapLimit(buckets, PURGE_BUCKETS_PER_STEP, async (bucket) => {
      await Promise.all([
        this.reactions.deleteBucket(channel, bucket),
        this.db.execute('write', DELETE_BUCKET, [channel, bucket], { idempotent: true }),
      ]);
      await this.db.execute('write', FORGET_BUCKET, [channel, bucket], { idempotent: true });
      this.knownBuckets.delete(`${channel}:${bucket}`);
    });
    this.newestBuckets.delete(channel.toString());
    this.bucketLists.forget(channel.toString());
    return true;
  }

  /**
   * The channel's buckets that hold messages, newest first. The list is cached: buckets only appear at the
   * present (a new message's bucket is its snowflake's), so a list read at time R lacks at most the buckets from
   * R - slack to now; a cached list is answered with those added (reading an empty one costs one small read and
   * never a wrong page). Purges forget the list; a purge by another process leaves listed buckets that read
   * empty. Identical reads in flight share one request.
   */
  async buckets(channel: bigint): Promise<number[]> {
    const key = channel.toString();
    const hit = this.bucketLists.cached(key);
    if (hit !== undefined) return withRecentBuckets(hit.value.buckets, hit.value.readAt);
    const { buckets } = await this.bucketLists.get(key, () => this.readBuckets(channel));
    return buckets;
  }

  /** Whether `buckets(channel)` would answer from the cache (no request). */
  private bucketsCached(channel: bigint): boolean {
    return this.bucketLists.peek(channel.toString()) !== undefined;
  }

  private async readBuckets(channel: bigint): Promise<{ buckets: number[]; readAt: number }> {
    const readAt = Date.now();
    const buckets = (await this.db.all(BUCKETS, [channel])).map((row) => row.get('bucket') as number);
    if (buckets.length > 0) noteNewest(this.newestBuckets, channel, buckets[0], true);
    return { buckets, readAt };
  }

  /**
   * Newest first, strictly older than `before` (or from `before` itself when `inclusive`; or from the newest),
   * across buckets. The bucket the page most likely starts in (the cursor's, or the channel's newest as this
   * process last saw it) is read alongside the bucket list instead of after it; the list still decides which
   * buckets count, so a wrong guess costs one read of an unlisted partition, never a wrong page.
   */
  private async walkOlder(
    channel: bigint,
    before: string | null,
    limit: number,
    listed?: Promise<number[]>,
    inclusive = false,
  ): Promise<MessageRecord[]> {
    if (limit <= 0) return [];
    const fromCursor = inclusive ? AT_OR_OLDER : OLDER_THAN;
    const read = (bucket: number, want: number) =>
      before !== null && bucket === bucketOf(before)
        ? this.db.execute('read', fromCursor, [channel, bucket, toId(before), want], { idempotent: true })
        : this.db.execute('read', NEWEST, [channel, bucket, want], { idempotent: true });
    // A cached list answers at once: the first bucket is then read knowing it is listed.
    const cached = listed === undefined && this.bucketsCached(channel);
    const guess = cached
      ? undefined
      : before !== null
        ? bucketOf(before)
        : this.newestBuckets.get(channel.toString());
    const early = guess === undefined ? undefined : read(guess, limit);
    const [buckets] = await Promise.all([listed ?? this.buckets(channel), early]);
    const start = before === null ? Number.POSITIVE_INFINITY : bucketOf(before);
    return this.walk(
      channel,
      buckets.filter((bucket) => bucket <= start),
      limit,
      read,
      OLDER_THAN,
      early === undefined || guess === undefined ? undefined : { bucket: guess, rs: early },
    );
  }

  /**
   * Reads buckets in order into a page. The first is read alone (a busy channel's page is one read); each bucket
   * that leaves the page short widens the read-ahead (2, then `PARALLEL_BUCKETS`), so a sparse channel's page
   * over many buckets costs a few round trips, not one per bucket, and at most `PARALLEL_BUCKETS` pages of rows
   * are read beyond what it needs.
   */
  private async walk(
    channel: bigint,
    buckets: readonly number[],
    limit: number,
    read: (bucket: number, want: number) => Promise<types.ResultSet>,
    next: string,
    early?: { bucket: number; rs: Promise<types.ResultSet> },
  ): Promise<MessageRecord[]> {
    const out: MessageRecord[] = [];
    const ahead = new Map<number, { rs: Promise<types.ResultSet>; asked: number }>();
    if (early !== undefined) ahead.set(early.bucket, { rs: early.rs, asked: limit });
    let width = 1;
    try {
      for (let i = 0; i < buckets.length && out.length < limit; i++) {
        const want = limit - out.length;
        for (let j = i; j < Math.min(buckets.length, i + width); j++)
          if (!ahead.has(buckets[j])) ahead.set(buckets[j], { rs: read(buckets[j], want), asked: want });
        const first = ahead.get(buckets[i]);
        ahead.delete(buckets[i]);
        if (first === undefined) continue;
        await this.fill(channel, buckets[i], out, limit, { rs: await first.rs, asked: first.asked }, next);
        width = Math.min(PARALLEL_BUCKETS, width * 2);
      }
    } finally {
      // Reads ahead that the page did not need (or an unlisted guess): their answers or errors are not wanted.
      for (const { rs } of ahead.values()) rs.catch(() => undefined);
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
    return this.walk(channel, buckets, limit, read, NEWER_THAN, { bucket: start, rs: early });
  }

  private async markBucket(channel: bigint, bucket: number): Promise<void> {
    const key = `${channel}:${bucket}`;
    if (this.knownBuckets.has(key)) return;
    await this.db.execute('write', MESSAGES.markBucket, [channel, bucket], { idempotent: true });
    this.bucketLists.amend(channel.toString(), (list) =>
      list.buckets.includes(bucket)
        ? list
        : { ...list, buckets: [...list.buckets, bucket].sort((a, b) => b - a) },
    );
    if (this.knownBuckets.size >= KNOWN_BUCKETS_MAX) this.knownBuckets.clear();
    this.knownBuckets.add(key);
    noteNewest(this.newestBuckets, channel, bucket, false);
  }

  /**
   * The author's partitions of `messages_by_author` (0043), one 10-day bucket at a time from `before` (or now)
   * back to `since`'s, then the page's messages by key, per channel. Empty buckets cost one small read each.
   */
  async listByAuthor(
    authorId: string,
    page: { before: string | null; since: string; limit: number },
  ): Promise<{ messages: MessageRecord[]; cursor: string | null }> {
    const author = toId(authorId);
    const oldest = bucketOf(page.since);
    const floor = toId(page.since);
    // A day past now: a clock a little ahead on another node still has its messages found.
    let bucket = page.before === null ? bucketAt(Date.now() + 86_400_000) : bucketOf(page.before);
    let below = page.before === null ? MAX_ID : toId(page.before);
    const refs: { id: string; channelId: string }[] = [];
    while (refs.length < page.limit && bucket >= oldest) {
      const rs = await this.db.execute(
        'read',
        MESSAGES_BY_AUTHOR.page,
        [author, bucket, below, page.limit - refs.length],
        { idempotent: true },
      );
      let older = false;
      for (const row of rs.rows) {
        const id = row.get('message_id') as bigint;
        // Newest first: past `since` (within its bucket) nothing more belongs to the answer.
        if (id < floor) {
          older = true;
          break;
        }
        refs.push({ id: fromId(id), channelId: fromId(row.get('channel_id') as bigint) });
      }
      if (older) break;
      if (refs.length < page.limit) {
        bucket--;
        below = MAX_ID;
      }
    }
    const byChannel = new Map<string, string[]>();
    for (const ref of refs) byChannel.set(ref.channelId, [...(byChannel.get(ref.channelId) ?? []), ref.id]);
    const found = (
      await mapLimit([...byChannel], 8, ([channelId, ids]) => this.findMany(channelId, ids))
    ).flat();
    found.sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : BigInt(b.id) < BigInt(a.id) ? -1 : 0));
    const more = refs.length === page.limit && refs.length > 0;
    return { messages: found, cursor: more ? refs[refs.length - 1].id : null };
  }

  /** Deletes the author's partitions from `since`'s bucket to now (one partition delete each, no read). */
  async forgetAuthor(authorId: string, since: string): Promise<void> {
    const author = toId(authorId);
    const buckets: number[] = [];
    for (let b = bucketAt(Date.now() + 86_400_000); b >= bucketOf(since); b--) buckets.push(b);
    await mapLimit(buckets, 16, (b) =>
      this.db.execute('write', MESSAGES_BY_AUTHOR.forgetBucket, [author, b], { idempotent: true }),
    );
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

/**
 * A cached bucket list with the buckets that may have appeared since it was read (from `readAt` less the slack
 * to now plus the slack) and that it does not hold, newest first.
 */
function withRecentBuckets(buckets: readonly number[], readAt: number): number[] {
  const now = Date.now();
  const recent: number[] = [];
  for (let b = bucketAt(now + NEW_BUCKET_SLACK_MS); b >= bucketAt(readAt - NEW_BUCKET_SLACK_MS); b--)
    if (!buckets.includes(b)) recent.push(b);
  return recent.length === 0 ? [...buckets] : [...recent, ...buckets].sort((a, b) => b - a);
}

/** One extra on the newer side covers an anchor that is not a message. */
const anchorMissingBonus = (after: number): number => after + 1;
