-- Full-text search over message content (docs/search.md). An external-content FTS5 table: it stores only the
-- inverted index, the text stays in `messages` (rowid = message id). Triggers keep it in step with every write
-- path (the group-committed send batch, edits, deletes, channel purges, bulk import), inside the same
-- transaction, so a message is searchable as soon as its write commits and a deleted one never matches.
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

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;

-- Edits and re-imported messages (the upsert's DO UPDATE): only a changed text touches the index.
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages WHEN old.content IS NOT new.content BEGIN
  INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
  INSERT INTO messages_fts (rowid, content) VALUES (new.id, new.content);
END;

-- Existing messages: index them all now.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');
