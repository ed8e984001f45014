-- Issue 23: the instance audit log (every action of an instance administrator) and the instance counters.
-- Entries are kept `instance.audit_log_retention_days` (expires_at); expired ones are pruned as new ones land.
CREATE TABLE instance_audit_log (
  id          INTEGER PRIMARY KEY,
  actor_id    INTEGER NOT NULL,
  action      TEXT    NOT NULL,
  target_type TEXT    NOT NULL,
  target_id   TEXT    NOT NULL,
  reason      TEXT,
  expires_at  INTEGER NOT NULL
);
CREATE INDEX instance_audit_log_by_expiry ON instance_audit_log (expires_at);

-- Counters for GET /admin/stats: `users`, `guilds`, `messages` (bucket 'all') and `messages` per UTC day
-- (bucket 'YYYY-MM-DD'). Kept as things are created and deleted, so reading the stats is a few rows.
CREATE TABLE instance_counters (
  name   TEXT    NOT NULL,
  bucket TEXT    NOT NULL,
  value  INTEGER NOT NULL,
  PRIMARY KEY (name, bucket)
) WITHOUT ROWID;
-- What exists now counts from the start (messages of today cannot be told apart cheaply: they start at 0).
INSERT INTO instance_counters (name, bucket, value) SELECT 'users', 'all', COUNT(*) FROM users;
INSERT INTO instance_counters (name, bucket, value) SELECT 'guilds', 'all', COUNT(*) FROM guilds;
INSERT INTO instance_counters (name, bucket, value) SELECT 'messages', 'all', COUNT(*) FROM messages;
