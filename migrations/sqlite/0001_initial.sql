-- Parley on SQLite: relational tables for the storage contract (libs/storage/src/contract).
-- Snowflake ids are INTEGER (signed 64-bit, numeric order); the driver binds and reads them as bigint.
-- Times are epoch milliseconds. Permission bit sets are TEXT because they may outgrow 64 bits.
-- Tables keyed by a composite natural key are WITHOUT ROWID so the key is the clustering order and
-- range scans over it read contiguous pages.

CREATE TABLE users (
  id             INTEGER PRIMARY KEY,
  username       TEXT    NOT NULL,
  username_lower TEXT    NOT NULL UNIQUE, -- the case-insensitive uniqueness claim
  email          TEXT    NOT NULL UNIQUE, -- stored lower-cased
  display_name   TEXT,
  avatar         TEXT,
  password_hash  TEXT    NOT NULL,
  created_at     INTEGER NOT NULL
);

CREATE TABLE tokens (
  token_hash TEXT    PRIMARY KEY,
  user_id    INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID;
CREATE INDEX tokens_by_user ON tokens (user_id);

CREATE TABLE guilds (
  id         INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  icon       TEXT,
  owner_id   INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE roles (
  guild_id    INTEGER NOT NULL,
  id          INTEGER NOT NULL,
  name        TEXT    NOT NULL,
  permissions TEXT    NOT NULL,
  color       INTEGER NOT NULL,
  position    INTEGER NOT NULL,
  PRIMARY KEY (guild_id, id)
) WITHOUT ROWID;

-- Roles are a JSON array of id strings on the member row rather than a member_roles table: they are
-- always read and replaced as a whole with the member (permission checks, member lists), so one row
-- per member keeps those paths to a single key lookup. The one query across members by role (role
-- delete, rare and admin-only) walks the guild's members by primary key prefix.
CREATE TABLE members (
  guild_id  INTEGER NOT NULL,
  user_id   INTEGER NOT NULL,
  nick      TEXT,
  roles     TEXT    NOT NULL DEFAULT '[]',
  joined_at INTEGER NOT NULL,
  PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;
-- Covers listGuildIds: entries of a WITHOUT ROWID index carry the primary key (guild_id) too.
CREATE INDEX members_by_user ON members (user_id);

CREATE TABLE channels (
  id        INTEGER PRIMARY KEY,
  type      INTEGER NOT NULL,
  guild_id  INTEGER,
  name      TEXT,
  topic     TEXT,
  parent_id INTEGER,
  position  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX channels_by_guild ON channels (guild_id);

CREATE TABLE channel_overwrites (
  channel_id INTEGER NOT NULL,
  id         INTEGER NOT NULL,
  type       INTEGER NOT NULL,
  allow      TEXT    NOT NULL,
  deny       TEXT    NOT NULL,
  PRIMARY KEY (channel_id, id)
) WITHOUT ROWID;

-- The DM pair claim: one row per unordered pair (user_low < user_high numerically).
CREATE TABLE dm_pairs (
  user_low   INTEGER NOT NULL,
  user_high  INTEGER NOT NULL,
  channel_id INTEGER NOT NULL,
  PRIMARY KEY (user_low, user_high)
) WITHOUT ROWID;
CREATE UNIQUE INDEX dm_pairs_by_channel ON dm_pairs (channel_id); -- releases the claim when the channel goes

-- One row per (recipient, DM channel): lists a user's DMs and loads a DM's recipients.
CREATE TABLE dm_recipients (
  user_id    INTEGER NOT NULL,
  channel_id INTEGER NOT NULL,
  PRIMARY KEY (user_id, channel_id)
) WITHOUT ROWID;
CREATE INDEX dm_recipients_by_channel ON dm_recipients (channel_id);

CREATE TABLE messages (
  id               INTEGER PRIMARY KEY,
  channel_id       INTEGER NOT NULL,
  guild_id         INTEGER,
  author_id        INTEGER NOT NULL,
  content          TEXT    NOT NULL,
  edited_at        INTEGER,
  attachments      TEXT    NOT NULL DEFAULT '[]',
  mentions         TEXT    NOT NULL DEFAULT '[]',
  mention_everyone INTEGER NOT NULL DEFAULT 0,
  pinned           INTEGER NOT NULL DEFAULT 0,
  type             INTEGER NOT NULL DEFAULT 0,
  nonce            TEXT
);
-- Every history read (latest/before/after/around, last id, channel purge) is a range scan of this index.
CREATE INDEX messages_by_channel ON messages (channel_id, id);

CREATE TABLE reactions (
  message_id INTEGER NOT NULL,
  emoji      TEXT    NOT NULL,
  user_id    INTEGER NOT NULL,
  PRIMARY KEY (message_id, emoji, user_id)
) WITHOUT ROWID;

-- Counter per (message, emoji), kept in step with reactions in the same transaction, so rendering
-- counts costs one row per emoji instead of counting every reacting user. The rowid keeps the
-- order in which emojis first appeared on the message.
CREATE TABLE reaction_counts (
  message_id INTEGER NOT NULL,
  emoji      TEXT    NOT NULL,
  count      INTEGER NOT NULL,
  UNIQUE (message_id, emoji)
);

CREATE TABLE read_states (
  user_id         INTEGER NOT NULL,
  channel_id      INTEGER NOT NULL,
  last_message_id INTEGER,
  mention_count   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user_id, channel_id)
) WITHOUT ROWID;

CREATE TABLE invites (
  code       TEXT    PRIMARY KEY,
  guild_id   INTEGER NOT NULL,
  channel_id INTEGER NOT NULL,
  inviter_id INTEGER NOT NULL,
  max_age    INTEGER NOT NULL,
  max_uses   INTEGER NOT NULL,
  uses       INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID;
CREATE INDEX invites_by_guild ON invites (guild_id);

CREATE TABLE bans (
  guild_id   INTEGER NOT NULL,
  user_id    INTEGER NOT NULL,
  reason     TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (guild_id, user_id)
) WITHOUT ROWID;

-- Job ids are TEXT: callers may use deterministic keys (e.g. one purge job per channel) as well as
-- snowflakes. state 0 = pending, 1 = dead. Claiming is a range scan of (state, run_at).
CREATE TABLE jobs (
  id         TEXT    PRIMARY KEY,
  name       TEXT    NOT NULL,
  payload    TEXT    NOT NULL,
  attempts   INTEGER NOT NULL DEFAULT 0,
  run_at     INTEGER NOT NULL,
  last_error TEXT,
  state      INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX jobs_due ON jobs (state, run_at);
