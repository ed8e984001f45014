-- Bytes of attachments each user holds (claimed or not), for the upload quota (media.user_quota). Derived
-- data: kept by triggers on attachments, so uploads, deletes on every path (message and channel cleanup,
-- the unattached-upload sweep), bulk writes and imports all maintain it, and an upload checks one row
-- instead of summing the uploader's files. Backfilled here from the attachments already stored.
CREATE TABLE upload_usage (
  user_id INTEGER PRIMARY KEY,
  bytes   INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO upload_usage (user_id, bytes)
  SELECT uploader_id, sum(size) FROM attachments GROUP BY uploader_id;

CREATE TRIGGER attachments_usage_insert AFTER INSERT ON attachments
BEGIN
  INSERT INTO upload_usage (user_id, bytes) VALUES (new.uploader_id, new.size)
    ON CONFLICT (user_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;

CREATE TRIGGER attachments_usage_delete AFTER DELETE ON attachments
BEGIN
  UPDATE upload_usage SET bytes = bytes - old.size WHERE user_id = old.uploader_id;
END;

-- An import's upsert over an existing row with another size or uploader moves the bytes.
CREATE TRIGGER attachments_usage_update AFTER UPDATE OF uploader_id, size ON attachments
BEGIN
  UPDATE upload_usage SET bytes = bytes - old.size WHERE user_id = old.uploader_id;
  INSERT INTO upload_usage (user_id, bytes) VALUES (new.uploader_id, new.size)
    ON CONFLICT (user_id) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
