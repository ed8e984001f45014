import type { ReadStateRecord, ReadStateRepository } from '../../contract';
import { fromId, fromIdOrNull, mapLimit, toId } from '../codec';
import type { CassandraSession } from '../session';
import { READ_STATES } from '../tables';

const STATES = 'SELECT channel_id, last_message_id FROM read_states WHERE user_id = ?';
const ALL_MENTIONS = 'SELECT channel_id, mentions FROM read_state_mentions WHERE user_id = ?';

/**
 * Read positions are plain upserts; unread mentions are counters (an increment needs no read and never
 * loses a concurrent one). An ack subtracts the count it read, so a mention that lands in between
 * stays counted. Counter updates are not idempotent: the driver never retries them.
 */
export class CassandraReadStateRepository implements ReadStateRepository {
  constructor(private readonly db: CassandraSession) {}

  async ack(userId: string, channelId: string, messageId: string): Promise<void> {
    const user = toId(userId);
    const channel = toId(channelId);
    const [, row] = await Promise.all([
      this.db.execute('write', READ_STATES.insert, [user, channel, toId(messageId)], { idempotent: true }),
      this.db
        .execute('read', READ_STATES.mentionsOf, [user, channel], { idempotent: true })
        .then((rs) => rs.first()),
    ]);
    const count = row ? (row.get('mentions') as bigint) : 0n;
    if (count !== 0n) await this.addMentions(user, channel, -count);
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
    for (const row of states) {
      const channelId = fromId(row.get('channel_id'));
      byChannel.set(channelId, {
        userId,
        channelId,
        lastMessageId: fromIdOrNull(row.get('last_message_id')),
        mentionCount: 0,
      });
    }
    for (const row of mentions) {
      const channelId = fromId(row.get('channel_id'));
      const count = Number(row.get('mentions') as bigint);
      const state = byChannel.get(channelId);
      if (state) state.mentionCount = Math.max(0, count);
      else if (count > 0)
        byChannel.set(channelId, { userId, channelId, lastMessageId: null, mentionCount: count });
    }
    return [...byChannel.values()];
  }

  private async addMentions(user: bigint, channel: bigint, delta: bigint): Promise<void> {
    await this.db.execute('write', READ_STATES.addMentions, [delta, user, channel], { idempotent: false });
  }
}
