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

/**
 * Keeps `message_search` (migrations 0010, 0048) in step with `messages`: the send, edit and delete paths call
 * this beside their own write, by key and without a read (the caller names the guild; a caller that does
 * not costs one read of the message's guild). The bucket marker is written once per process and bucket.
 *
 * Sends group-commit their postings per partition: every posting of a guild's 10 days lands in one partition,
 * so concurrent sends of a busy guild would otherwise be that many mutations contending for one partition. A
 * posting is written at once when none of its partition is in flight; those arriving meanwhile wait for it and
 * go together in one unlogged single-partition batch (one mutation), and each send resolves when its own
 * posting is written. No timer: an idle guild's send waits for nothing.
 */
export class SearchPostings {
  /** Scope buckets this process already marked. */
  private readonly known = new Set<string>();
  /** Postings partitions with a write in flight. */
  private readonly partitions = new Map<string, PartitionWrites>();
  /**
   * Off only for the benches' "index off" rounds: bench/scenarios/search-worker.cjs, and in a running server
   * apps/server/src/bench-switch.ts.
   */
  enabled = true;

  constructor(private readonly db: CassandraSession) {}

  async write(message: MessageRecord): Promise<void> {
    if (!this.enabled) return;
    const scope = MESSAGE_SEARCH.scopeOf(message);
    const bucket = searchBucketOf(message.id);
    await Promise.all([
      this.grouped(`${scope}:${bucket}`, MESSAGE_SEARCH.params(message, undefined)),
      this.mark(scope, bucket),
    ]);
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
        ? this.db.execute('write', MESSAGE_SEARCH.insert, group[0].params, { idempotent: true })
        : this.db.batch(
            group.map((w) => ({ query: MESSAGE_SEARCH.insert, params: w.params })),
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
