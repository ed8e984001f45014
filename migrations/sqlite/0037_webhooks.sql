-- Incoming webhooks (Discord's type 1, issue 21): one row per webhook, read by id on every execute and listed
-- per guild or channel by the people who manage them. The token senders hold in the URL is column `secret`
-- (as on Cassandra, where `token` is a keyword).
CREATE TABLE webhooks (
  id         INTEGER PRIMARY KEY,
  guild_id   INTEGER NOT NULL,
  channel_id INTEGER NOT NULL,
  creator_id INTEGER,
  name       TEXT NOT NULL,
  avatar     TEXT,
  secret     TEXT NOT NULL
);

CREATE INDEX webhooks_by_guild ON webhooks (guild_id, channel_id);

-- A webhook's message shows as the webhook under the name (and avatar) of that execution: JSON
-- {"id", "name", "avatar"}, null for everyone else's messages.
ALTER TABLE messages ADD COLUMN webhook TEXT;
