import type { Page, ReactionCount, ReactionRepository } from '../../contract';
import { fromId, pageStart, toId, toNumber, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { HOT_QUERIES } from '../hot-queries';

// Message ids are unique across channels, so rows are keyed by message alone; channelId is not stored.
const ADD = 'INSERT INTO reactions (message_id, emoji, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING';
const COUNT_UP = `INSERT INTO reaction_counts (message_id, emoji, count) VALUES (?, ?, 1)
  ON CONFLICT (message_id, emoji) DO UPDATE SET count = count + 1`;
const REMOVE = 'DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ?';
const COUNT_DOWN = 'UPDATE reaction_counts SET count = count - 1 WHERE message_id = ? AND emoji = ?';
const DROP_EMPTY = 'DELETE FROM reaction_counts WHERE message_id = ? AND emoji = ? AND count <= 0';
const USERS = `SELECT user_id FROM reactions WHERE message_id = ? AND emoji = ? AND user_id > ?
  ORDER BY user_id LIMIT ?`;
const DELETE_FOR_MESSAGE = 'DELETE FROM reactions WHERE message_id = ?';
const DELETE_COUNTS_FOR_MESSAGE = 'DELETE FROM reaction_counts WHERE message_id = ?';

interface CountRow {
  message_id: bigint;
  emoji: string;
  count: bigint;
  me: bigint;
}

/** Each reaction row and its emoji counter change in one transaction, so counts never drift. */
export class SqliteReactionRepository implements ReactionRepository {
  constructor(private readonly db: SqliteDb) {}

  add(_channelId: string, messageId: string, emoji: string, userId: string): Promise<boolean> {
    return settle(() =>
      this.db.transaction(() => {
        const message = toId(messageId);
        if (this.db.run(ADD, message, emoji, toId(userId)) === 0) return false;
        this.db.run(COUNT_UP, message, emoji);
        return true;
      }),
    );
  }

  remove(_channelId: string, messageId: string, emoji: string, userId: string): Promise<boolean> {
    return settle(() =>
      this.db.transaction(() => {
        const message = toId(messageId);
        if (this.db.run(REMOVE, message, emoji, toId(userId)) === 0) return false;
        this.db.run(COUNT_DOWN, message, emoji);
        this.db.run(DROP_EMPTY, message, emoji);
        return true;
      }),
    );
  }

  listUsers(_channelId: string, messageId: string, emoji: string, page: Page): Promise<string[]> {
    return settle(() =>
      this.db
        .all<{ user_id: bigint }>(USERS, toId(messageId), emoji, pageStart(page.after), toLimit(page.limit))
        .map((row) => fromId(row.user_id)),
    );
  }

  counts(_channelId: string, messageIds: readonly string[], viewerId: string): Promise<ReactionCount[]> {
    return settle(() => {
      const viewer = toId(viewerId);
      return messageIds.flatMap((messageId) =>
        this.db.all<CountRow>(HOT_QUERIES['reactions.counts'].sql, viewer, toId(messageId)).map((row) => ({
          messageId: fromId(row.message_id),
          emoji: row.emoji,
          count: toNumber(row.count),
          me: row.me === 1n,
        })),
      );
    });
  }

  deleteForMessage(_channelId: string, messageId: string): Promise<void> {
    return settle(() =>
      this.db.transaction(() => {
        const message = toId(messageId);
        this.db.run(DELETE_FOR_MESSAGE, message);
        this.db.run(DELETE_COUNTS_FOR_MESSAGE, message);
      }),
    );
  }
}
