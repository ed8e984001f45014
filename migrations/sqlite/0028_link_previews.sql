-- Issue 18: link previews. What unfurling a URL found (a Discord embed as JSON, or null when the page had
-- nothing to show or could not be fetched), kept until expires_at so the same link in many messages is
-- fetched once. A cache: not carried by export/import or compared by verify (a missing row is fetched again);
-- expired rows read as absent and are swept when a new row is written (the index keeps that a range delete).
CREATE TABLE link_previews (
  url        TEXT    PRIMARY KEY,
  embed      TEXT,
  fetched_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX link_previews_by_expiry ON link_previews (expires_at);
