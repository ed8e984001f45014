-- Full-text search over message content (docs/search.md). An external-content FTS5 table: it stores only the
-- inverted index, the text stays in `messages` (rowid = message id). Triggers keep it in step with every write
-- path (the group-committed send batch, edits, deletes, channel purges, bulk import); see below for how new
-- messages reach it.
--
-- unicode61 with remove_diacritics 2 splits on anything that is not a letter or digit in every script and
-- folds case and diacritics (café = cafe). Scripts written without spaces (Chinese, Japanese, Thai) become one
-- token per run of characters, so a word inside such a run is not found on its own; the trigram tokenizer
-- would find any substring of 3+ characters at about three times the index size (docs/search.md).
CREATE VIRTUAL TABLE messages_fts USING fts5(
  content,
  content = 'messages',
  content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);

-- New messages are indexed a batch at a time, not inside the send's own transaction: the insert trigger only
-- notes the id here, and the driver moves pending ids into the index every 200 ms and before every search
-- (libs/storage/src/sqlite/repositories/message-search.repository.ts), so a search never misses a committed
-- message while the group-committed send path writes one small row instead of an FTS5 segment per batch.
CREATE TABLE messages_fts_pending (id INTEGER PRIMARY KEY);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
  INSERT OR IGNORE INTO messages_fts_pending (id) VALUES (new.id);
END;

-- A deleted message leaves the index at once (or, not indexed yet, the pending list).
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content)
    SELECT 'delete', old.id, old.content WHERE NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE id = old.id);
  DELETE FROM messages_fts_pending WHERE id = old.id;
END;

-- Edits and re-imported messages (the upsert's DO UPDATE): a changed text of an indexed message is re-indexed
-- at once; a pending one is indexed with whatever text it has when its turn comes.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages
  WHEN old.content IS NOT new.content AND NOT EXISTS (SELECT 1 FROM messages_fts_pending WHERE id = old.id)
BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;

-- Existing messages: index them all now.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
