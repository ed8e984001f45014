-- Role mentions (Discord's <@&id>): a role may be mentioned by anyone when it is mentionable (else only with
-- MENTION_EVERYONE); a message keeps the roles it mentioned, as Discord's mention_roles.
ALTER TABLE roles ADD COLUMN mentionable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN mention_roles TEXT NOT NULL DEFAULT '[]';
