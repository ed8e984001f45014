-- The unattached-upload expiry sweep (libs/media, media.unattached_upload_ttl) pages through uploads no
-- message has claimed, by id. A partial index holds only those rows: a sweep reads the few pending uploads,
-- never the attachments that messages hold.
CREATE INDEX attachments_unclaimed ON attachments (id) WHERE message_id IS NULL;
