-- Notification settings (Discord's user guild settings): one row per user and guild the user has changed
-- anything in; no row means the defaults (follow the guild's default level, nothing muted). Channel
-- overrides travel with the row as a JSON array: Discord reads and writes them together, a guild has at
-- most a few hundred channels, and no query looks inside them.
CREATE TABLE user_guild_settings (
  user_id               INTEGER NOT NULL,
  guild_id              INTEGER NOT NULL,
  message_notifications INTEGER NOT NULL,
  muted                 INTEGER NOT NULL,
  mute_end_time         INTEGER NOT NULL,
  suppress_everyone     INTEGER NOT NULL,
  suppress_roles        INTEGER NOT NULL,
  channel_overrides     TEXT    NOT NULL,
  updated_at            INTEGER NOT NULL,
  PRIMARY KEY (user_id, guild_id)
) WITHOUT ROWID;

-- The guild's default level for members who chose none: 0 all messages, 1 only mentions (Discord's field).
ALTER TABLE guilds ADD COLUMN default_message_notifications INTEGER NOT NULL DEFAULT 0;
