-- Relationships (Discord's: 2 = blocked; friends are not built). Keyed by the user and the other user, so the
-- check a DM send makes ("has the recipient blocked the sender?") is one primary-key read.
CREATE TABLE relationships (
  user_id    INTEGER NOT NULL,
  target_id  INTEGER NOT NULL,
  type       INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, target_id)
) WITHOUT ROWID;

-- A user's privacy settings, only once changed from the defaults. dm_policy: 0 anyone may open a DM, 1 only
-- users sharing a guild (the default, also when no row exists), 2 nobody new.
CREATE TABLE user_privacy (
  user_id    INTEGER PRIMARY KEY,
  dm_policy  INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
