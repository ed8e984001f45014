import type { Page, ReactionCount, ReactionRepository } from '../../contract';
import { fromId, mapLimit, toId } from '../codec';
import type { CassandraSession } from '../session';

const ADD = 'INSERT INTO reactions (channel_id, message_id, emoji, user_id) VALUES (?, ?, ?, ?)';
const REMOVE = 'DELETE FROM reactions WHERE channel_id = ? AND message_id = ? AND emoji = ? AND user_id = ?';
const ONE =
  'SELECT user_id FROM reactions WHERE channel_id = ? AND message_id = ? AND emoji = ? AND user_id = ?';
const USERS_FIRST =
  'SELECT user_id FROM reactions WHERE channel_id = ? AND message_id = ? AND emoji = ? LIMIT ?';
const USERS_AFTER = `SELECT user_id FROM reactions WHERE channel_id = ? AND message_id = ? AND emoji = ? AND user_id > ?
  LIMIT ?`;
// Aggregated by the replica inside one message's partition: one row per emoji comes back.
const COUNTS = `SELECT emoji, COUNT(*) AS n FROM reactions WHERE channel_id = ? AND message_id = ? GROUP BY emoji`;
const MINE =
  'SELECT emoji FROM reactions WHERE channel_id = ? AND message_id = ? AND emoji IN ? AND user_id = ?';
const DELETE_MESSAGE = 'DELETE FROM reactions WHERE channel_id = ? AND message_id = ?';

/**
 * One partition per message, clustered by (emoji, user). Adding and removing are idempotent upserts and
 * deletes; the boolean they return comes from a read just before (two identical adds racing may both
 * report true, the stored state is right either way). Counts are aggregated per message partition.
 */
export class CassandraReactionRepository implements ReactionRepository {
  constructor(private readonly db: CassandraSession) {}

  async add(channelId: string, messageId: string, emoji: string, userId: string): Promise<boolean> {
    const key = [toId(channelId), toId(messageId), emoji, toId(userId)];
    if (await this.has(key)) return false;
    await this.db.execute('write', ADD, key, { idempotent: true });
    return true;
  }

  async remove(channelId: string, messageId: string, emoji: string, userId: string): Promise<boolean> {
    const key = [toId(channelId), toId(messageId), emoji, toId(userId)];
    if (!(await this.has(key))) return false;
    await this.db.execute('write', REMOVE, key, { idempotent: true });
    return true;
  }

  async listUsers(channelId: string, messageId: string, emoji: string, page: Page): Promise<string[]> {
    const limit = Math.max(1, page.limit);
    const rs =
      page.after === undefined
        ? await this.db.execute('read', USERS_FIRST, [toId(channelId), toId(messageId), emoji, limit], {
            idempotent: true,
          })
        : await this.db.execute(
            'read',
            USERS_AFTER,
            [toId(channelId), toId(messageId), emoji, toId(page.after), limit],
            { idempotent: true },
          );
    return rs.rows.map((row) => fromId(row.get('user_id')));
  }

  async counts(channelId: string, messageIds: readonly string[], viewerId: string): Promise<ReactionCount[]> {
    const channel = toId(channelId);
    const viewer = toId(viewerId);
    const perMessage = await mapLimit(messageIds, 16, async (messageId) => {
      const message = toId(messageId);
      const counts = (await this.db.all(COUNTS, [channel, message])).map((row) => ({
        emoji: row.get('emoji') as string,
        count: Number(row.get('n') as bigint),
      }));
      if (counts.length === 0) return [];
      const mine = new Set(
        (
          await this.db.execute('read', MINE, [channel, message, counts.map((c) => c.emoji), viewer], {
            idempotent: true,
          })
        ).rows.map((row) => row.get('emoji') as string),
      );
      return counts.map((c) => ({ messageId, emoji: c.emoji, count: c.count, me: mine.has(c.emoji) }));
    });
    return perMessage.flat();
  }

  async deleteForMessage(channelId: string, messageId: string): Promise<void> {
    await this.db.execute('write', DELETE_MESSAGE, [toId(channelId), toId(messageId)], { idempotent: true });
  }

  private async has(key: unknown[]): Promise<boolean> {
    return (await this.db.execute('read', ONE, key, { idempotent: true })).rowLength > 0;
  }
}
