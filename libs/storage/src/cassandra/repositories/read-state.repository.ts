import type { ReadStateRecord, ReadStateRepository } from '../../contract';
import { fromId, fromIdOrNull, mapLimit, toId } from '../codec';
import type { CassandraSession } from '../session';
import { READ_STATES } from '../tables';

const STATES = 'SELECT channel_id, last_message_id, acked_mentions FROM read_states WHERE user_id = ?';
const ALL_MENTIONS = 'SELECT channel_id, mentions FROM read_state_mentions WHERE user_id = ?';

/**
 * Read positions are plain upserts; mentions are a counter that only grows (an increment needs no read and
 * never loses a concurrent one) and an acknowledged snapshot kept with the position: an ack reads the total
 * and stores it as `acked_mentions`, the unread count is total - acked. Two devices acking at once each
 * store a snapshot, so the count never goes negative; a mention landing between an ack's read and its write
 * stays unread. Counter updates are not idempotent: the driver never retries them.
 */
export class CassandraReadStateRepository implements ReadStateRepository {
  constructor(private readonly db: CassandraSession) {}

  async ack(userId: string, channelId: string, messageId: string): Promise<void> {
    const user = toId(userId);
    const channel = toId(channelId);
    const row = (
      await this.db.execute('read', READ_STATES.mentionsOf, [user, channel], { idempotent: true })
    ).first();
    const total = row ? ((row.get('mentions') as bigint | null) ?? 0n) : 0n;
    await this.db.execute('write', READ_STATES.ack, [user, channel, toId(messageId), total], {
      idempotent: true,
    });
  }

  async incrementMentions(channelId: string, userIds: readonly string[]): Promise<void> {
    const channel = toId(channelId);
    await mapLimit(userIds, 16, (userId) => this.addMentions(toId(userId), channel, 1n));
  }

  async list(userId: string): Promise<ReadStateRecord[]> {
    const user = toId(userId);
    const [states, mentions] = await Promise.all([
      this.db.all(STATES, [user]),
      this.db.all(ALL_MENTIONS, [user]),
    ]);
    const byChannel = new Map<string, ReadStateRecord>();
    const acked = new Map<string, bigint>();
    for (const row of states) {
      const channelId = fromId(row.get('channel_id'));
      acked.set(channelId, (row.get('acked_mentions') as bigint | null) ?? 0n);
      byChannel.set(channelId, {
        userId,
        channelId,
        lastMessageId: fromIdOrNull(row.get('last_message_id')),
        mentionCount: 0,
      });
    }
    for (const row of mentions) {
      const channelId = fromId(row.get('channel_id'));
      const total = (row.get('mentions') as bigint | null) ?? 0n;
      const count = Math.max(0, Number(total - (acked.get(channelId) ?? 0n)));
      const state = byChannel.get(channelId);
      if (state) state.mentionCount = count;
      else if (count > 0)
        byChannel.set(channelId, { userId, channelId, lastMessageId: null, mentionCount: count });
    }
    return [...byChannel.values()];
  }

  private async addMentions(user: bigint, channel: bigint, delta: bigint): Promise<void> {
    await this.db.execute('write', READ_STATES.addMentions, [delta, user, channel], { idempotent: false });
  }
}
