import type { ReadStateRecord, ReadStateRepository } from '../../contract';
import { toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { READ_STATES, type ReadStateRow } from '../tables';

// Writes of the request paths: the position, or one more mention, never the whole row.
const ACK = `INSERT INTO read_states (user_id, channel_id, last_message_id, mention_count) VALUES (?, ?, ?, 0)
  ON CONFLICT (user_id, channel_id) DO UPDATE SET last_message_id = excluded.last_message_id, mention_count = 0`;
// Upsert increment: no read on the send path, even for users who never opened the channel.
const MENTION = `INSERT INTO read_states (user_id, channel_id, last_message_id, mention_count) VALUES (?, ?, NULL, 1)
  ON CONFLICT (user_id, channel_id) DO UPDATE SET mention_count = mention_count + 1`;
const LIST = `SELECT ${READ_STATES.columns} FROM read_states WHERE user_id = ?`;

export class SqliteReadStateRepository implements ReadStateRepository {
  constructor(private readonly db: SqliteDb) {}

  ack(userId: string, channelId: string, messageId: string): Promise<void> {
    return settle(() => {
      this.db.run(ACK, toId(userId), toId(channelId), toId(messageId));
    });
  }

  incrementMentions(channelId: string, userIds: readonly string[]): Promise<void> {
    return settle(() =>
      this.db.transaction(() => {
        const channel = toId(channelId);
        for (const userId of userIds) this.db.run(MENTION, toId(userId), channel);
      }),
    );
  }

  list(userId: string): Promise<ReadStateRecord[]> {
    return settle(() => this.db.all<ReadStateRow>(LIST, toId(userId)).map(READ_STATES.toRecord));
  }
}
