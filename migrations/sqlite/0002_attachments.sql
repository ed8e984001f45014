-- Uploaded files (libs/media): one row per attachment, unattached (message_id NULL) until a message of
-- the same channel and uploader claims it. Looked up by id on every media-proxy hit; listed by channel
-- only when a deleted channel's files are cleaned up, as a range scan of attachments_by_channel.
CREATE TABLE attachments (
  id           INTEGER PRIMARY KEY,
  channel_id   INTEGER NOT NULL,
  uploader_id  INTEGER NOT NULL,
  message_id   INTEGER,
  filename     TEXT    NOT NULL,
  size         INTEGER NOT NULL,
  content_type TEXT    NOT NULL,
  width        INTEGER,
  height       INTEGER,
  created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_by_channel ON attachments (channel_id, id);
