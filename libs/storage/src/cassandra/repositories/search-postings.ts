import type { MessagePatch, MessageRecord } from '../../contract';
import { bucketOf } from '../buckets';
import { toId } from '../codec';
import { searchBucketOf } from '../search-terms';
import type { CassandraSession } from '../session';
import { MESSAGE_SEARCH } from '../tables';

const GUILD_OF = 'SELECT guild_id FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?';
const KNOWN_BUCKETS_MAX = 50_000;

/**
 * Keeps `message_search` (migration 0010) in step with `messages`: the send, edit and delete paths call
 * this beside their own write, by key and without a read (the caller names the guild; a caller that does
 * not costs one read of the message's guild). The bucket marker is written once per process and bucket.
 */
export class SearchPostings {
  /** Scope buckets this process already marked. */
  private readonly known = new Set<string>();
  /** Off only for the bench's "index off" rounds (bench/scenarios/search-worker.cjs). */
  enabled = true;

  constructor(private readonly db: CassandraSession) {}

  async write(message: MessageRecord): Promise<void> {
    if (!this.enabled) return;
    const scope = MESSAGE_SEARCH.scopeOf(message);
    const bucket = searchBucketOf(message.id);
    await Promise.all([
      this.db.execute('write', MESSAGE_SEARCH.insert, MESSAGE_SEARCH.params(message, undefined), {
        idempotent: true,
      }),
      this.mark(scope, bucket),
    ]);
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
      patch.content === undefined ? [] : MESSAGE_SEARCH.ofContent(patch.content, null);
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
