-- Issue 21 (webhook files, the applications list). A person's applications are listed by their owner
-- (GET /applications): a partial index holds only the bot rows, people have no entry in it.
CREATE INDEX users_by_bot_owner ON users (bot_owner_id) WHERE bot_owner_id IS NOT NULL;
-- Attachment descriptions (Discord's alt text, from webhooks and bots) live in messages.attachments, which is
-- JSON here: no column needed.
