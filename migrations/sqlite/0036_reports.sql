-- Reports of a message, a user or a guild. Instance admins page through every report (newest first, by id);
-- a guild's moderators through those about their guild (the index below). Never pruned automatically.
CREATE TABLE reports (
  id             INTEGER PRIMARY KEY,
  reporter_id    INTEGER NOT NULL,
  reason         TEXT NOT NULL,
  guild_id       INTEGER,
  channel_id     INTEGER,
  message_id     INTEGER,
  target_user_id INTEGER
);

CREATE INDEX reports_by_guild ON reports (guild_id, id) WHERE guild_id IS NOT NULL;
