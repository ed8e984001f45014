-- Member counts, maintained by triggers on members (joins, leaves, guild deletion, bulk writes and
-- imports all keep it), so a connect reads one row per guild instead of counting the guild's members.
-- Derived data, not exported. Backfilled here from the members already stored.
CREATE TABLE guild_member_counts (
  guild_id INTEGER PRIMARY KEY,
  n        INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO guild_member_counts (guild_id, n)
  SELECT guild_id, count(*) FROM members GROUP BY guild_id;

CREATE TRIGGER members_count_insert AFTER INSERT ON members
BEGIN
  INSERT INTO guild_member_counts (guild_id, n) VALUES (new.guild_id, 1)
    ON CONFLICT (guild_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER members_count_delete AFTER DELETE ON members
BEGIN
  UPDATE guild_member_counts SET n = n - 1 WHERE guild_id = old.guild_id;
END;
