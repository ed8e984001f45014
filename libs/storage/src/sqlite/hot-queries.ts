import type { Param } from './codec';
import { MEMBERS, MESSAGES } from './tables';

const MESSAGE_COLUMNS = MESSAGES.columns;
const MEMBER_COLUMNS = MEMBERS.columns;
/**
 * A search's filters, each off when its parameter is NULL (or 0): authors (JSON array), mentioned users (JSON
 * array of id strings, as `mentions` stores them), has link / file / image / embed (no message stores embeds
 * yet, so that one never matches), min_id, max_id. Twelve parameters; SqliteMessageSearch binds them.
 */
const SEARCH_FILTERS = `(? IS NULL OR messages.author_id IN (SELECT value FROM json_each(?)))
  AND (? IS NULL OR EXISTS (SELECT 1 FROM json_each(messages.mentions) AS m WHERE m.value IN (SELECT value FROM json_each(?))))
  AND (? = 0 OR messages.content LIKE '%http://_%' OR messages.content LIKE '%https://_%')
  AND (? = 0 OR messages.attachments <> '[]')
  AND (? = 0 OR messages.attachments LIKE '%"contentType":"image/%')
  AND ? = 0
  AND (? IS NULL OR messages.id > ?)
  AND (? IS NULL OR messages.id < ?)`;

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
  // Every channel of a READY or a channel list in one round trip: the ids come as one JSON array of integers.
  'messages.lastIds': {
    sql: `SELECT channel_id, last_message_id AS id FROM channel_last_messages
      WHERE channel_id IN (SELECT value FROM json_each(?))`,
    params: 1,
  },
  // Search (docs/search.md): ids of matches, newest first, at most SEARCH_TOTAL_CAP. FTS5 drives the join:
  // its rowids are negated message ids (migration 0042), so ascending rowids are newest first, no sort step,
  // and the LIMIT stops the walk; the filters bind NULL or 0 when unused.
  'messages.search': {
    sql: `SELECT messages.id FROM messages_fts JOIN messages ON messages.id = -messages_fts.rowid
      WHERE messages_fts MATCH ? AND messages.channel_id IN (SELECT value FROM json_each(?)) AND ${SEARCH_FILTERS}
      ORDER BY messages_fts.rowid ASC LIMIT ?`,
    params: 15,
  },
  // The same without content: a range of messages_by_channel per channel searched, then sorted.
  'messages.searchFiltered': {
    sql: `SELECT id FROM messages INDEXED BY messages_by_channel
      WHERE channel_id IN (SELECT value FROM json_each(?)) AND ${SEARCH_FILTERS}
      ORDER BY id DESC LIMIT ?`,
    params: 14,
  },
  // A search page's messages by id (a JSON array of ids).
  'messages.byIds': {
    sql: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id DESC`,
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
  // A history page's messages in one round trip (a JSON array of ids); `seq` orders each message's emoji as they
  // were first added, sorted by the caller (no sort step here).
  'reactions.counts': {
    sql: `SELECT c.message_id, c.emoji, c.count, c.rowid AS seq,
        EXISTS (SELECT 1 FROM reactions r WHERE r.message_id = c.message_id AND r.emoji = c.emoji AND r.user_id = ?) AS me
      FROM reaction_counts c WHERE c.message_id IN (SELECT value FROM json_each(?))`,
    params: 2,
  },
} as const satisfies Record<string, { sql: string; params: number }>;

export type HotQueryName = keyof typeof HOT_QUERIES;

/** Ids as one JSON array of integers, for `json_each` (64-bit integers survive SQLite's JSON parser). */
export function idList(ids: readonly string[]): string {
  return `[${ids.map((id) => BigInt(id).toString()).join(',')}]`;
}

/** Where the heavy reads run: the writer connection, or the worker pool's read-only connections. */
export interface HotReader {
  all<R>(query: HotQueryName, params: readonly Param[]): Promise<R[]>;
}
