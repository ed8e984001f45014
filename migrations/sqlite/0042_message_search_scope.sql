-- Message search, second index format (docs/search.md). 0005's index could only answer "which messages
-- contain these words", newest first across the whole database: a search of one channel walked every
-- channel's matches and dropped the others (at 1,000,000 messages in 50 channels, one channel cost ~50x the
-- walk of the guild), and FTS5 walks a doclist backwards (newest first) one entry at a time, without the
-- skips its doclist index allows going forwards.
--
-- So the index is rebuilt:
-- - A second column `scope` holds the message's channel and guild as tokens, `c<channel_id> g<guild_id>`
--   (a DM: only its channel). A search of a few channels ANDs `scope : (c1 OR c2)` with its words, and FTS5
--   intersects the doclists, skipping ahead in the longer one: the cost follows the channel's matches. User
--   terms are confined to the `content` column, so no text can match a scope token.
-- - The FTS rowid is the NEGATED message id: ascending FTS rowids are newest messages first, the direction
--   in which FTS5 iterates natively and seeks through its doclist index.
-- - Contentless (content = ''): the text stays in `messages` only, and the triggers below give FTS5 the exact
--   values to delete. columnsize = 0: no per-row size record (only ranking would read it).
-- - prefix = '3': a prefix index of every token's first 3 characters, so `pre*` (the shortest prefix a query
--   may use, SEARCH_PREFIX_MIN) reads one doclist instead of merging those of every word it starts.
--   Longer prefixes merge the doclists of the words they start, fewer and rarer ones.
-- The tokenizer is unchanged (unicode61 remove_diacritics 2, see 0005).
DROP TRIGGER IF EXISTS messages_fts_insert;
DROP TRIGGER IF EXISTS messages_fts_delete;
DROP TRIGGER IF EXISTS messages_fts_update;
DROP TABLE IF EXISTS messages_fts;

CREATE VIRTUAL TABLE messages_fts USING fts5(
  content,
  scope,
  content = '',
  columnsize = 0,
  prefix = '3',
  tokenize = 'unicode61 remove_diacritics 2'
);

-- As in 0005: new messages are noted here in the send's own transaction, and the driver moves them into the
-- index in batches (every 200 ms and before every search with content).
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
  INSERT OR IGNORE INTO messages_fts_pending (id) VALUES (new.id);
END;

-- A deleted message leaves the index at once (or, not indexed yet, the pending list). The scope expression
-- is the one SqliteMessageSearch indexes with: channel and guild never change, so it is what was indexed.
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content, scope)
    SELECT 'delete', -old.id, old.content, 'c' || old.channel_id || coalesce(' g' || old.guild_id, '')
    WHERE NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE id = old.id);
  DELETE FROM messages_fts_pending WHERE id = old.id;
END;

-- Edits and re-imported messages (the upsert's DO UPDATE): a changed text of an indexed message is re-indexed
-- at once; a pending one is indexed with whatever text it has when its turn comes.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
  WHEN old.content IS NOT new.content AND NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE id = old.id)
BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content, scope)
    VALUES ('delete', -old.id, old.content, 'c' || old.channel_id || coalesce(' g' || old.guild_id, ''));
  INSERT INTO messages_fts (rowid, content, scope)
    VALUES (-new.id, new.content, 'c' || new.channel_id || coalesce(' g' || new.guild_id, ''));
END;

-- Existing messages: indexed now, newest first (ascending FTS rowids), except those still pending, which the
-- driver indexes as before.
INSERT INTO messages_fts (rowid, content, scope)
  SELECT -id, content, 'c' || channel_id || coalesce(' g' || guild_id, '') FROM messages
  WHERE id NOT IN (SELECT id FROM messages_fts_pending)
  ORDER BY id DESC;
