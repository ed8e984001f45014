-- Message search, third index format (docs/search.md): the same index as 0042, with contentless_delete = 1.
--
-- A deleted message left the 0042 index through FTS5's 'delete' command, which must be given the exact text
-- that was indexed: it tokenizes the message again and writes a delete entry for every token and every
-- 3-character prefix, then merges them into the index. That was most of a channel purge's time (issue 17:
-- 2,400-3,150 messages/s, ~35 min for a 5,000,000-message channel) and of every message delete; by rowid,
-- purges measured 1.2-2x faster (docs/scaling.md).
-- With contentless_delete = 1 a row is deleted by its rowid alone (`DELETE FROM messages_fts WHERE rowid = ?`):
-- FTS5 records a tombstone for the row in its segment, with no tokenizing and no per-token entries.
-- FTS5 needs the per-row size record for that (columnsize = 0 is refused with contentless_delete).
-- Everything else is as in 0042 (negated message ids as rowids, the scope column, prefix = '3', tokenizer).
DROP TRIGGER IF EXISTS messages_fts_delete;
DROP TRIGGER IF EXISTS messages_fts_update;
DROP TABLE IF EXISTS messages_fts;

CREATE VIRTUAL TABLE messages_fts USING fts5(
  content,
  scope,
  content = '',
  contentless_delete = 1,
  prefix = '3',
  tokenize = 'unicode61 remove_diacritics 2'
);

-- A deleted message leaves the index at once (or, not indexed yet, the pending list).
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  DELETE FROM messages_fts WHERE rowid = -old.id;
  DELETE FROM messages_fts_pending WHERE id = old.id;
END;

-- Edits and re-imported messages (the upsert's DO UPDATE): a changed text of an indexed message is re-indexed
-- at once; a pending one is indexed with whatever text it has when its turn comes.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
  WHEN old.content IS NOT new.content AND NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE id = old.id)
BEGIN
  DELETE FROM messages_fts WHERE rowid = -old.id;
  INSERT INTO messages_fts (rowid, content, scope)
    VALUES (-new.id, new.content, 'c' || new.channel_id || coalesce(' g' || new.guild_id, ''));
END;

-- Existing messages: indexed again, newest first (ascending FTS rowids), except those still pending, which the
-- driver indexes as before.
INSERT INTO messages_fts (rowid, content, scope)
  SELECT -id, content, 'c' || channel_id || coalesce(' g' || guild_id, '') FROM messages
  WHERE id NOT IN (SELECT id FROM messages_fts_pending)
  ORDER BY id DESC;
