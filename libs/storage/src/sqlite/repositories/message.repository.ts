import type { JobRecord, MessagePatch, MessageRecord, MessageRepository } from '../../contract';
import { compareIds, fromId, patchParams, patchSet, toFlag, toId, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { HOT_QUERIES, type HotReader } from '../hot-queries';
import { MessageWriter } from '../message-writer';
import { JOB_PENDING, JOBS, MESSAGES, REACTIONS, type MessageRow } from '../tables';

const FIND = `SELECT ${MESSAGES.columns} FROM messages WHERE id = ? AND channel_id = ?`;
const UPDATE = `UPDATE messages SET ${patchSet(['content', 'edited_at', 'mentions', 'mention_roles', 'mention_everyone', 'pinned', 'embeds', 'flags'])}
  WHERE id = @id AND channel_id = @channel_id`;
const DELETE_OLDEST = `DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE channel_id = ? ORDER BY id LIMIT ?)
  RETURNING id`;
const NONCE_SWEEP = 'DELETE FROM message_nonces WHERE expires_at <= ?';
const NONCE_CLAIM = `INSERT INTO message_nonces (channel_id, author_id, nonce, message_id, expires_at)
  VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`;
const NONCE_HELD =
  'SELECT message_id FROM message_nonces WHERE channel_id = ? AND author_id = ? AND nonce = ?';
const NONCE_RELEASE =
  'DELETE FROM message_nonces WHERE channel_id = ? AND author_id = ? AND nonce = ? AND message_id = ?';
const toRecord = MESSAGES.toRecord;

const newestFirst = (a: MessageRow, b: MessageRow): number => compareIds(b.id, a.id);

/** Creates are group-committed (see MessageWriter); history pages go through the hot reader. */
export class SqliteMessageRepository implements MessageRepository {
  private readonly writer: MessageWriter;

  constructor(
    private readonly db: SqliteDb,
    private readonly reader: HotReader,
  ) {
    this.writer = new MessageWriter(db, MESSAGES.upsert);
  }

  /** The message and its jobs in one group-committed transaction (see MessageWriter). */
  create(message: MessageRecord, jobs: readonly JobRecord[] = []): Promise<void> {
    return settle(() => ({
      params: MESSAGES.params(message),
      companions: jobs.map((job) => ({ sql: JOBS.insertIfAbsent, params: JOBS.params(job, JOB_PENDING) })),
    })).then(({ params, companions }) => this.writer.write(params, companions));
  }

  /** Commits queued creates now, e.g. before closing. */
  flush(): void {
    this.writer.flush();
  }

  /** One transaction: expired claims go (through the expiry index), then the claim or the holder. */
  claimNonce(
    channelId: string,
    authorId: string,
    nonce: string,
    messageId: string,
    ttlMs: number,
  ): Promise<string | null> {
    return settle(() =>
      this.db.transaction(() => {
        const now = Date.now();
        const key = [toId(channelId), toId(authorId), nonce] as const;
        this.db.run(NONCE_SWEEP, now);
        if (this.db.run(NONCE_CLAIM, ...key, toId(messageId), now + ttlMs) > 0) return null;
        const held = this.db.get<{ message_id: bigint }>(NONCE_HELD, ...key);
        return held ? fromId(held.message_id) : null;
      }),
    );
  }

  releaseNonce(channelId: string, authorId: string, nonce: string, messageId: string): Promise<void> {
    return settle(() => {
      this.db.run(NONCE_RELEASE, toId(channelId), toId(authorId), nonce, toId(messageId));
    });
  }

  find(channelId: string, messageId: string): Promise<MessageRecord | null> {
    return settle(() => {
      const row = this.db.get<MessageRow>(FIND, toId(messageId), toId(channelId));
      return row ? toRecord(row) : null;
    });
  }

  findMany(channelId: string, messageIds: readonly string[]): Promise<MessageRecord[]> {
    return settle(() => {
      if (messageIds.length === 0) return [];
      this.writer.flush(); // a reply's original may still be queued
      const marks = messageIds.map(() => '?').join(', ');
      return this.db
        .all<MessageRow>(
          `SELECT ${MESSAGES.columns} FROM messages WHERE channel_id = ? AND id IN (${marks})`,
          toId(channelId),
          ...messageIds.map(toId),
        )
        .map(toRecord);
    });
  }

  update(channelId: string, messageId: string, patch: MessagePatch): Promise<void> {
    return settle(() => {
      this.writer.flush(); // an edit must not overtake the create it follows
      this.db.run(UPDATE, {
        id: toId(messageId),
        channel_id: toId(channelId),
        ...patchParams({
          content: patch.content,
          edited_at: patch.editedAt,
          mentions: patch.mentions && JSON.stringify(patch.mentions),
          mention_roles: patch.mentionRoles && JSON.stringify(patch.mentionRoles),
          mention_everyone: patch.mentionEveryone === undefined ? undefined : toFlag(patch.mentionEveryone),
          pinned: patch.pinned === undefined ? undefined : toFlag(patch.pinned),
          embeds: patch.embeds && JSON.stringify(patch.embeds),
          flags: patch.flags,
        }),
      });
    });
  }

  delete(channelId: string, messageId: string): Promise<void> {
    return settle(() => {
      this.writer.flush();
      this.db.run(MESSAGES.delete, toId(messageId), toId(channelId));
    });
  }

  async listLatest(channelId: string, limit: number): Promise<MessageRecord[]> {
    const rows = await this.reader.all<MessageRow>('messages.latest', [toId(channelId), toLimit(limit)]);
    return rows.map(toRecord);
  }

  async listBefore(channelId: string, before: string, limit: number): Promise<MessageRecord[]> {
    const rows = await this.reader.all<MessageRow>('messages.before', [
      toId(channelId),
      toId(before),
      toLimit(limit),
    ]);
    return rows.map(toRecord);
  }

  async listAfter(channelId: string, after: string, limit: number): Promise<MessageRecord[]> {
    const rows = await this.reader.all<MessageRow>('messages.after', [
      toId(channelId),
      toId(after),
      toLimit(limit),
    ]);
    return rows.reverse().map(toRecord);
  }

  /** floor(limit/2) newer than the anchor, then the anchor and the older ones up to the limit. */
  async listAround(channelId: string, around: string, limit: number): Promise<MessageRecord[]> {
    const channel = toId(channelId);
    const anchor = toId(around);
    const total = toLimit(limit);
    const newer = Math.floor(total / 2);
    const rows = await this.reader.all<MessageRow>('messages.around', [
      channel,
      anchor,
      newer,
      channel,
      anchor,
      total - newer,
    ]);
    return rows.sort(newestFirst).map(toRecord);
  }

  lastMessageIds(channelIds: readonly string[]): Promise<Map<string, string>> {
    return settle(() => {
      const last = new Map<string, string>();
      for (const channelId of channelIds) {
        const row = this.db.get<{ id: bigint | null }>(HOT_QUERIES['messages.lastId'].sql, toId(channelId));
        if (row?.id != null) last.set(channelId, fromId(row.id));
      }
      return last;
    });
  }

  deleteChannelBatch(channelId: string, batch: number): Promise<number> {
    return settle(() => {
      if (batch <= 0) return 0;
      this.writer.flush();
      return this.db.transaction(() => {
        const gone = this.db.all<{ id: bigint }>(DELETE_OLDEST, toId(channelId), toLimit(batch));
        for (const { id } of gone) {
          this.db.run(REACTIONS.deleteOfMessage, id);
          this.db.run(REACTIONS.deleteCountsOfMessage, id);
        }
        return gone.length;
      });
    });
  }
}
