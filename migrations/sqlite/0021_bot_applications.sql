-- Bot applications (Discord's shape, issue 21): a bot is a user row whose bot_owner_id names the user who
-- created its application; the application shares the bot's id (as Discord's newer applications do) and keeps
-- its flags (privileged intents: GATEWAY_PRESENCE 1<<12, GATEWAY_GUILD_MEMBERS 1<<14,
-- GATEWAY_MESSAGE_CONTENT 1<<18) here. NULL / 0 for people.
ALTER TABLE users ADD COLUMN bot_owner_id INTEGER;
ALTER TABLE users ADD COLUMN app_flags INTEGER NOT NULL DEFAULT 0;
