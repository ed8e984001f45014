import type { MessagePatch, MessageRecord } from '../../contract';
import { bucketOf } from '../buckets';
import { toId } from '../codec';
import { searchBucketOf } from '../search-terms';
import type { CassandraSession } from '../session';
import { MESSAGE_SEARCH } from '../tables';

const GUILD_OF = 'SELECT guild_id FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?';
const KNOWN_BUCKETS_MAX = 50_000;
/** Postings of one partition written in one request at most. */
const GROUP_MAX = 32;

interface Waiting {
  params: unknown[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** One postings partition's writes: the one in flight, and those that arrived meanwhile. */
interface PartitionWrites {
  flying: boolean;
  waiting: Waiting[];
}

/** Attempts at a send's posting before it is given up (a node down for longer; `lost` counts them). */
const ATTEMPTS = 4;
/** Wait before each retry of a send's posting. */
const RETRY_MS = [250, 1_000, 5_000];

/**
 * Keeps `message_search` (migrations 0010, 0048) in step with `messages`: the send, edit and delete paths call
 * this beside their own write, by key and without a read (the caller names the guild; a caller that does
 * not costs one read of the message's guild). The bucket marker is written once per process and bucket.
 *
 * **A send's posting is written after the send answers** (`write`, started once the message's own row is
 * stored; issue 19: indexing must not slow sends down). It is written at the message's snowflake time
 * (`MESSAGE_SEARCH.insertAtSend`), so an edit's UPDATE or a delete, written at their own later time, wins over
 * it whichever lands first: a late posting never brings back old text or a deleted message. A failed write is
 * retried (ATTEMPTS, RETRY_MS), where an awaited one used to fail the send after its message was stored (and the
 * client's retry by nonce then found the message and wrote no posting). A search in this process first waits
 * for the postings in flight (`settled`), so a message sent through a process is found by the next search
 * through it; in another process it is found within milliseconds (the index lag the search bench measures).
 *
 * Sends group-commit their postings per partition: every posting of a guild's 10 days lands in one partition,
 * so concurrent sends of a busy guild would otherwise be that many mutations contending for one partition. A
 * posting is written at once when none of its partition is in flight; those arriving meanwhile wait for it and
 * go together in one unlogged single-partition batch (one mutation). No timer: an idle guild's posting waits
 * for nothing.
 */
export class SearchPostings {
  /** Scope buckets this process already marked. */
  private readonly known = new Set<string>();
  /** Postings partitions with a write in flight. */
  private readonly partitions = new Map<string, PartitionWrites>();
  /** Send postings being written (about to start, or an attempt in flight; not those waiting to retry). */
  private readonly inFlight = new Set<Promise<void>>();
  /** Send postings given up after every attempt failed (their messages are not found by search). */
  lost = 0;
  /** Off only for the bench's "index off" rounds (bench/scenarios/search-worker.cjs, apps/server/src/bench-switch.ts). */
  enabled = true;

  constructor(private readonly db: CassandraSession) {}

  /**
   * Starts writing a sent message's posting (and its bucket marker); the caller does not wait for it. Its terms
   * and its request are built in the next turn of the event loop (setImmediate), after the promise callbacks
   * that carry the send to its reply and its event: called when the message's row is stored, that work would
   * otherwise run before them. `settled()` covers it from this call on.
   */
  write(message: MessageRecord): void {
    if (!this.enabled) return;
    const started = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
      this.writeWithRetries(message, 1),
    );
    this.inFlight.add(started);
    void started.finally(() => this.inFlight.delete(started));
  }

  /**
   * Resolves when the send postings in flight now have landed or failed, or `undefined` at once when there are
   * none (the common case: a search costs nothing for it).
   */
  settled(): Promise<void> | undefined {
    if (this.inFlight.size === 0) return undefined;
    return Promise.allSettled([...this.inFlight]).then(() => undefined);
  }

  private async writeWithRetries(message: MessageRecord, attempt: number): Promise<void> {
    const scope = MESSAGE_SEARCH.scopeOf(message);
    const bucket = searchBucketOf(message.id);
    const params = [...MESSAGE_SEARCH.params(message, undefined), MESSAGE_SEARCH.sendTimestamp(message.id)];
    const written = Promise.all([this.grouped(`${scope}:${bucket}`, params), this.mark(scope, bucket)]).then(
      () => undefined,
    );
    this.inFlight.add(written);
    try {
      await written;
    } catch {
      if (attempt >= ATTEMPTS) {
        this.lost++;
        return;
      }
      const retry = setTimeout(() => void this.writeWithRetries(message, attempt + 1), RETRY_MS[attempt - 1]);
      retry.unref();
    } finally {
      this.inFlight.delete(written);
    }
  }

  /** Writes a posting with the others of its partition that wait meanwhile (see the class comment). */
  private grouped(key: string, params: unknown[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let partition = this.partitions.get(key);
      if (!partition) {
        partition = { flying: false, waiting: [] };
        this.partitions.set(key, partition);
      }
      partition.waiting.push({ params, resolve, reject });
      if (!partition.flying) this.flush(key, partition);
    });
  }

  private flush(key: string, partition: PartitionWrites): void {
    const group = partition.waiting.splice(0, GROUP_MAX);
    partition.flying = true;
    const written =
      group.length === 1
        ? this.db.execute('write', MESSAGE_SEARCH.insertAtSend, group[0].params, { idempotent: true })
        : this.db.batch(
            group.map((w) => ({ query: MESSAGE_SEARCH.insertAtSend, params: w.params })),
            true,
            false,
          );
    written.then(
      () => group.forEach((w) => w.resolve()),
      (err: unknown) => group.forEach((w) => w.reject(err)),
    );
    void written
      .catch(() => undefined)
      .then(() => {
        if (partition.waiting.length > 0) this.flush(key, partition);
        else this.partitions.delete(key);
      });
  }

  async edit(
    channelId: string,
    messageId: string,
    patch: MessagePatch,
    guildId?: string | null,
  ): Promise<void> {
    if (patch.content === undefined && patch.mentions === undefined) return;
    const scope = await this.scope(channelId, messageId, guildId);
    if (scope === null) return;
    // Only the content is edited in practice (mentions follow it); an edit without content keeps the terms.
    const params: unknown[] =
      patch.content === undefined ? [] : MESSAGE_SEARCH.ofContent(patch.content, channelId, null);
    const mentions = patch.mentions === undefined ? [] : [patch.mentions.map(toId)];
    const cql =
      patch.content === undefined
        ? 'UPDATE message_search SET mentions = ? WHERE scope_id = ? AND bucket = ? AND message_id = ?'
        : MESSAGE_SEARCH.edit(patch.mentions !== undefined);
    await this.db.execute(
      'write',
      cql,
      [...params, ...mentions, scope, searchBucketOf(messageId), toId(messageId)],
      { idempotent: true },
    );
  }

  /** The posting's scope, for a delete that follows (read before the message goes). */
  async scope(channelId: string, messageId: string, guildId?: string | null): Promise<bigint | null> {
    if (guildId !== undefined) return toId(guildId ?? channelId);
    const row = (
      await this.db.execute('read', GUILD_OF, [toId(channelId), bucketOf(messageId), toId(messageId)], {
        idempotent: true,
      })
    ).first();
    if (!row) return null;
    const guild = row.get('guild_id') as bigint | null;
    return guild ?? toId(channelId);
  }

  async remove(scope: bigint | null, messageId: string): Promise<void> {
    if (scope === null) return;
    await this.db.execute(
      'write',
      MESSAGE_SEARCH.delete,
      [scope, searchBucketOf(messageId), toId(messageId)],
      {
        idempotent: true,
      },
    );
  }

  private async mark(scope: bigint, bucket: number): Promise<void> {
    const key = `${scope}:${bucket}`;
    if (this.known.has(key)) return;
    await this.db.execute('write', MESSAGE_SEARCH.markBucket, [scope, bucket], { idempotent: true });
    if (this.known.size >= KNOWN_BUCKETS_MAX) this.known.clear();
    this.known.add(key);
  }
}
