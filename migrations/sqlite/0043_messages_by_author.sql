-- Issue 23: an account deleted with `instance.account_deletion: delete` loses its messages everywhere, in
-- guilds it has left and in DMs too. They are found through this index on the author (newest first from the
-- account's id on), never by reading channel histories. One more b-tree entry per message sent.
CREATE INDEX IF NOT EXISTS messages_by_author ON messages (author_id, id);
