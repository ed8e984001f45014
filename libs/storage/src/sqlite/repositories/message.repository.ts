import type { JobRecord, MessagePatch, MessageRecord, MessageRepository } from '../../contract';
import { compareIds, fromId, patchParams, patchSet, toFlag, toId, toLimit } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { type HotReader, idList } from '../hot-queries';
import { MessageWriter } from '../message-writer';
import { JOB_PENDING, JOBS, MESSAGES, type MessageRow } from '../tables';

const FIND = `SELECT ${MESSAGES.columns} FROM messages WHERE id = ? AND channel_id = ?`;
const UPDATE = `UPDATE messages SET ${patchSet(['content', 'edited_at', 'mentions', 'mention_roles', 'mention_everyone', 'pinned', 'embeds', 'flags', 'attachments'])}
  WHERE id = @id AND channel_id = @channel_id`;
/**
 * Rows a purge step deletes in one transaction: it starts at PURGE_ROWS_MIN and is doubled while a step holds
 * the writer for less than half PURGE_HOLD_MS, halved when one holds it longer than PURGE_HOLD_MS, so the lock is held for about that
 * long whatever the machine (sends wait for at most one step) and a fast disk purges in few steps.
 */
const PURGE_ROWS_MIN = 500;
const PURGE_ROWS_MAX = 50_000;
const PURGE_HOLD_MS = 100;
const PURGE_UPPER = `SELECT max(id) AS hi FROM
  (SELECT id FROM messages WHERE channel_id = ? ORDER BY id LIMIT ?)`;
const PURGE_RANGE = 'SELECT id FROM messages WHERE channel_id = ? AND id <= ?';
const PURGE_REACTIONS = `DELETE FROM reactions WHERE message_id IN (${PURGE_RANGE})`;
const PURGE_REACTION_COUNTS = `DELETE FROM reaction_counts WHERE message_id IN (${PURGE_RANGE})`;
const PURGE_MESSAGES = 'DELETE FROM messages WHERE channel_id = ? AND id <= ?';
const NONCE_SWEEP = 'DELETE FROM message_nonces WHERE expires_at <= ?';
const NONCE_CLAIM = `INSERT INTO message_nonces (channel_id, author_id, nonce, message_id, expires_at)
  VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`;
const NONCE_HELD =
  'SELECT message_id FROM message_nonces WHERE channel_id = ? AND author_id = ? AND nonce = ?';
const NONCE_RELEASE =
  'DELETE FROM message_nonces WHERE channel_id = ? AND author_id = ? AND nonce = ? AND message_id = ?';
// Through the `messages_by_author` index (migration 0043): only the author's rows, newest first.
const BY_AUTHOR = `SELECT ${MESSAGES.columns} FROM messages INDEXED BY messages_by_author
  WHERE author_id = ? AND id < ? AND id >= ? ORDER BY id DESC LIMIT ?`;
const toRecord = MESSAGES.toRecord;

const newestFirst = (a: MessageRow, b: MessageRow): number => compareIds(b.id, a.id);

/** Creates are group-committed (see MessageWriter); history pages go through the hot reader. */
export class SqliteMessageRepository implements MessageRepository {
  private readonly writer: MessageWriter;
  /** The next purge step's size (see PURGE_ROWS_MIN). */
  private purgeRows = PURGE_ROWS_MIN;

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
          attachments: patch.attachments && JSON.stringify(patch.attachments),
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

  /** One grouped read on a reader thread (not one query per channel on the event loop). */
  async lastMessageIds(channelIds: readonly string[]): Promise<Map<string, string>> {
    const last = new Map<string, string>();
    if (channelIds.length === 0) return last;
    const rows = await this.reader.all<{ channel_id: bigint; id: bigint | null }>('messages.lastIds', [
      idList(channelIds),
    ]);
    for (const row of rows) if (row.id != null) last.set(fromId(row.channel_id), fromId(row.id));
    return last;
  }

  /**
   * One step of a deleted channel's purge: its oldest `purgeRows` messages, found by the upper end of that
   * primary-key range (an index walk) and deleted by range with their reactions in one short transaction,
   * so the writer is held for one batch at a time. Progress is what is gone: a killed purge resumes. The
   * search index forgets each message by its rowid (a tombstone, migration 0049) in the delete trigger.
   */
  purgeChannelStep(channelId: string): Promise<boolean> {
    return settle(() => {
      const channel = toId(channelId);
      this.writer.flush();
      const started = performance.now();
      const upTo = this.db.get<{ hi: bigint | null }>(PURGE_UPPER, channel, this.purgeRows)?.hi ?? null;
      if (upTo === null) {
        // The next purge starts small again.
        this.purgeRows = PURGE_ROWS_MIN;
        return false;
      }
      this.db.transaction(() => {
        this.db.run(PURGE_REACTIONS, channel, upTo);
        this.db.run(PURGE_REACTION_COUNTS, channel, upTo);
        this.db.run(PURGE_MESSAGES, channel, upTo);
      });
      const held = performance.now() - started;
      if (held < PURGE_HOLD_MS / 2) this.purgeRows = Math.min(PURGE_ROWS_MAX, this.purgeRows * 2);
      else if (held > PURGE_HOLD_MS)
        this.purgeRows = Math.max(PURGE_ROWS_MIN, Math.floor(this.purgeRows / 2));
      return true;
    });
  }

  listByAuthor(
    authorId: string,
    page: { before: string | null; since: string; limit: number },
  ): Promise<{ messages: MessageRecord[]; cursor: string | null }> {
    return settle(() => {
      // Sends still queued in the group commit belong to the answer.
      this.writer.flush();
      const before = page.before === null ? 2n ** 63n - 1n : toId(page.before);
      const rows = this.db.all<MessageRow>(
        BY_AUTHOR,
        toId(authorId),
        before,
        toId(page.since),
        toLimit(page.limit),
      );
      return {
        messages: rows.map(toRecord),
        cursor: rows.length === page.limit && rows.length > 0 ? fromId(rows[rows.length - 1].id) : null,
      };
    });
  }

  /** The index follows the rows: nothing to forget. */
  forgetAuthor(): Promise<void> {
    return Promise.resolve();
  }
}
