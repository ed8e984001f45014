-- Pins (Discord's pinned messages): at most 50 per channel, listed newest pin first. The message's own
-- `pinned` flag is kept beside it for history pages; this table gives the list and the pin time.
CREATE TABLE channel_pins (
  channel_id INTEGER NOT NULL,
  message_id INTEGER NOT NULL,
  pinned_at  INTEGER NOT NULL,
  PRIMARY KEY (channel_id, message_id)
) WITHOUT ROWID;
