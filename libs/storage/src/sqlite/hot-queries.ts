import type { Param } from './codec';
import { MEMBERS, MESSAGES } from './tables';

const MESSAGE_COLUMNS = MESSAGES.columns;
const MEMBER_COLUMNS = MEMBERS.columns;

/**
 * The read paths that run on every page load. Kept in one table so the worker pool can run them by
 * text and the plan test can assert each is an index range scan. Parameters are positional.
 */
export const HOT_QUERIES = {
  'messages.latest': {
    sql: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = ? ORDER BY id DESC LIMIT ?`,
    params: 2,
  },
  'messages.before': {
    sql: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
    params: 3,
  },
  // Ascending so the page starts right after the cursor; the repository reverses it to newest first.
  'messages.after': {
    sql: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = ? AND id > ? ORDER BY id ASC LIMIT ?`,
    params: 3,
  },
  // Both halves in one round trip (one worker message): newer than the anchor, then the anchor and older.
  'messages.around': {
    sql: `SELECT * FROM (SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = ? AND id > ? ORDER BY id ASC LIMIT ?)
      UNION ALL
      SELECT * FROM (SELECT ${MESSAGE_COLUMNS} FROM messages WHERE channel_id = ? AND id <= ? ORDER BY id DESC LIMIT ?)`,
    params: 6,
  },
  // Stored (maintained by a trigger on insert), not found: a deleted last message keeps its id, as on Discord.
  'messages.lastId': {
    sql: 'SELECT last_message_id AS id FROM channel_last_messages WHERE channel_id = ?',
    params: 1,
  },
  'members.list': {
    sql: `SELECT ${MEMBER_COLUMNS} FROM members WHERE guild_id = ? AND user_id > ? ORDER BY user_id LIMIT ?`,
    params: 3,
  },
  'members.guildIds': {
    sql: 'SELECT guild_id FROM members WHERE user_id = ? ORDER BY guild_id',
    params: 1,
  },
  // Counters in first-reacted order; `me` is one primary-key probe per emoji.
  'reactions.counts': {
    sql: `SELECT c.message_id, c.emoji, c.count,
        EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = c.message_id AND r.emoji = c.emoji AND r.user_id = ?) AS me
      FROM reaction_counts c WHERE c.message_id = ? ORDER BY c.rowid`,
    params: 2,
  },
} as const satisfies Record<string, { sql: string; params: number }>;

export type HotQueryName = keyof typeof HOT_QUERIES;

/** Where the heavy reads run: the writer connection, or the worker pool's read-only connections. */
export interface HotReader {
  all<R>(query: HotQueryName, params: readonly Param[]): Promise<R[]>;
}
