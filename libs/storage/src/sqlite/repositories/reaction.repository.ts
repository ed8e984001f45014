import type { Page, ReactionCount, ReactionRepository } from '../../contract';
import { fromId, pageStart, toId, toNumber, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { type HotReader, idList } from '../hot-queries';
import { addReaction, REACTIONS, removeReaction } from '../tables';

const USERS = `SELECT user_id FROM reactions WHERE message_id = ? AND emoji = ? AND user_id > ?
  ORDER BY user_id LIMIT ?`;

interface CountRow {
  message_id: bigint;
  emoji: string;
  count: bigint;
  me: bigint;
  seq: bigint;
}

/** Each reaction row and its emoji counter change in one transaction, so counts never drift. */
export class SqliteReactionRepository implements ReactionRepository {
  constructor(
    private readonly db: SqliteDb,
    private readonly reader: HotReader,
  ) {}

  add(_channelId: string, messageId: string, emoji: string, userId: string): Promise<boolean> {
    return settle(() =>
      this.db.transaction(() => addReaction(this.db, toId(messageId), emoji, toId(userId))),
    );
  }

  remove(_channelId: string, messageId: string, emoji: string, userId: string): Promise<boolean> {
    return settle(() =>
      this.db.transaction(() => removeReaction(this.db, toId(messageId), emoji, toId(userId))),
    );
  }

  listUsers(_channelId: string, messageId: string, emoji: string, page: Page): Promise<string[]> {
    return settle(() =>
      this.db
        .all<{ user_id: bigint }>(USERS, toId(messageId), emoji, pageStart(page.after), toLimit(page.limit))
        .map((row) => fromId(row.user_id)),
    );
  }

  /** One grouped read on a reader thread for the whole page; each message's emoji in the order first added. */
  async counts(
    _channelId: string,
    messageIds: readonly string[],
    viewerId: string,
  ): Promise<ReactionCount[]> {
    if (messageIds.length === 0) return [];
    const rows = await this.reader.all<CountRow>('reactions.counts', [toId(viewerId), idList(messageIds)]);
    const byMessage = new Map<string, CountRow[]>();
    for (const row of rows) {
      const id = fromId(row.message_id);
      const list = byMessage.get(id);
      if (list) list.push(row);
      else byMessage.set(id, [row]);
    }
    return messageIds.flatMap((messageId) =>
      (byMessage.get(messageId) ?? [])
        .sort((a, b) => (a.seq < b.seq ? -1 : 1))
        .map((row) => ({ messageId, emoji: row.emoji, count: toNumber(row.count), me: row.me === 1n })),
    );
  }

  deleteForMessage(_channelId: string, messageId: string): Promise<void> {
    return settle(() =>
      this.db.transaction(() => {
        const message = toId(messageId);
        this.db.run(REACTIONS.deleteOfMessage, message);
        this.db.run(REACTIONS.deleteCountsOfMessage, message);
      }),
    );
  }
}
