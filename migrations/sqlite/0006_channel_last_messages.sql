-- The id of the last message sent in each channel, kept as messages are inserted (a trigger, so the send
-- path's group-committed writer, the bulk writer and imports all maintain it). Like Discord's
-- last_message_id it is not lowered when that message is deleted: it "may not point to an existing or
-- valid message". A channel's row goes with the channel.
CREATE TABLE channel_last_messages (
  channel_id      INTEGER PRIMARY KEY,
  last_message_id INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO channel_last_messages (channel_id, last_message_id)
  SELECT channel_id, max(id) FROM messages GROUP BY channel_id;

CREATE TRIGGER messages_last_message AFTER INSERT ON messages
BEGIN
  INSERT INTO channel_last_messages (channel_id, last_message_id) VALUES (new.channel_id, new.id)
    ON CONFLICT (channel_id) DO UPDATE SET last_message_id = excluded.last_message_id
    WHERE excluded.last_message_id > channel_last_messages.last_message_id;
END;

CREATE TRIGGER channels_last_message AFTER DELETE ON channels
BEGIN
  DELETE FROM channel_last_messages WHERE channel_id = old.id;
END;
