-- Idempotent sends (Discord's `enforce_nonce`): a send that carries a nonce claims (channel, author, nonce)
-- until `expires_at` (epoch ms) before its message is written; a repeat within that time answers with the
-- first message instead of storing a second. Expired claims are deleted by the next claim (through the
-- expiry index), so the table holds a few minutes of sends.
CREATE TABLE message_nonces (
  channel_id INTEGER NOT NULL,
  author_id  INTEGER NOT NULL,
  nonce      TEXT    NOT NULL,
  message_id INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (channel_id, author_id, nonce)
) WITHOUT ROWID;

CREATE INDEX message_nonces_by_expiry ON message_nonces (expires_at);
