-- Issue 23: personal data export (`POST /users/@me/data-export`). The account's latest export: one row per
-- user, replaced by the next request. The archive itself is a file of the file store
-- (`exports/<user>/<id>.zip`). Transient like account_tokens: not carried by export/import/migrate (the
-- archive is a copy of data that is carried; the owner asks again).
CREATE TABLE data_exports (
  user_id     INTEGER PRIMARY KEY,
  id          INTEGER NOT NULL,
  status      TEXT    NOT NULL,
  size        INTEGER,
  created_at  INTEGER NOT NULL,
  finished_at INTEGER
) WITHOUT ROWID;
