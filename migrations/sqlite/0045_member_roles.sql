-- Issue 17 item 5: who holds a role, so deleting a role takes it off its holders without walking the guild's
-- members (0001 kept roles only as a JSON array on the member row, and role deletion read every member of the
-- guild). One row per (guild, role, member), kept by triggers on members: joins, role changes, leaves, guild
-- deletion, bulk writes and imports all maintain it. Derived data, not exported; backfilled here.
-- (Cassandra's 0045 also shards its member partitions; SQLite has no partitions to bound.)
CREATE TABLE member_roles (
  guild_id INTEGER NOT NULL,
  role_id  INTEGER NOT NULL,
  user_id  INTEGER NOT NULL,
  PRIMARY KEY (guild_id, role_id, user_id)
) WITHOUT ROWID;

INSERT OR IGNORE INTO member_roles (guild_id, role_id, user_id)
  SELECT m.guild_id, CAST(r.value AS INTEGER), m.user_id FROM members m, json_each(m.roles) r;

CREATE TRIGGER member_roles_insert AFTER INSERT ON members
BEGIN
  INSERT OR IGNORE INTO member_roles (guild_id, role_id, user_id)
    SELECT new.guild_id, CAST(value AS INTEGER), new.user_id FROM json_each(new.roles);
END;

CREATE TRIGGER member_roles_update AFTER UPDATE OF roles ON members WHEN old.roles IS NOT new.roles
BEGIN
  DELETE FROM member_roles WHERE guild_id = old.guild_id AND user_id = old.user_id
    AND role_id IN (SELECT CAST(value AS INTEGER) FROM json_each(old.roles));
  INSERT OR IGNORE INTO member_roles (guild_id, role_id, user_id)
    SELECT new.guild_id, CAST(value AS INTEGER), new.user_id FROM json_each(new.roles);
END;

CREATE TRIGGER member_roles_delete AFTER DELETE ON members
BEGIN
  DELETE FROM member_roles WHERE guild_id = old.guild_id AND user_id = old.user_id
    AND role_id IN (SELECT CAST(value AS INTEGER) FROM json_each(old.roles));
END;
