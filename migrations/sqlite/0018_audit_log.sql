-- The guild audit log (Discord's audit log entries). One row per moderation or admin action, keyed by guild
-- and a time-ordered id so a page is one index range. `expires_at` is when the entry leaves the log
-- (moderation.audit_log_retention_days at the time it was written): reads skip expired rows and every append
-- prunes the expired ones through the index below, so no job is needed and the table never outgrows the window.
CREATE TABLE audit_log_entries (
  guild_id    INTEGER NOT NULL,
  id          INTEGER NOT NULL,
  user_id     INTEGER,
  target_id   INTEGER,
  action_type INTEGER NOT NULL,
  changes     TEXT NOT NULL,
  reason      TEXT,
  options     TEXT,
  expires_at  INTEGER NOT NULL,
  PRIMARY KEY (guild_id, id)
) WITHOUT ROWID;

CREATE INDEX audit_log_entries_expiry ON audit_log_entries (expires_at);
