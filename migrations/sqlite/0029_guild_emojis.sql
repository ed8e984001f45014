-- Custom emoji per guild (Discord's emoji object). A guild holds a few hundred at most (guilds.max_emojis), read
-- whole by guild. Names are not unique (Discord allows duplicates). `roles` is a JSON array of role ids (empty:
-- everyone may use it). The image is in the file store at emojis/<id>.png (static) or emojis/<id>.gif (animated).
CREATE TABLE guild_emojis (
  guild_id INTEGER NOT NULL,
  id       INTEGER NOT NULL,
  name     TEXT NOT NULL,
  roles    TEXT NOT NULL DEFAULT '[]',
  user_id  INTEGER,
  animated INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (guild_id, id)
) WITHOUT ROWID;
