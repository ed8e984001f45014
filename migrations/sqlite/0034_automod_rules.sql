-- AutoMod rules (Discord's auto moderation rules), a few per guild. The rule's body is Discord's JSON (name,
-- trigger type and metadata, actions, exemptions): the chat library validates it and compiles each guild's rules
-- into memory, so a send never reads this table.
CREATE TABLE automod_rules (
  guild_id   INTEGER NOT NULL,
  id         INTEGER NOT NULL,
  creator_id INTEGER NOT NULL,
  rule       TEXT NOT NULL,
  PRIMARY KEY (guild_id, id)
) WITHOUT ROWID;
