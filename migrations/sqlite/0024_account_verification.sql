-- Issue 23: email verification and password reset.
-- Whether the account's email address was confirmed by a link sent to it. Accounts made before this migration
-- count as verified: turning auth.email_verification to "required" later must not lock every existing user out.
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 1;

-- Single-use links mailed to a user (verify an address, reset a password). Only the SHA-256 of the token is
-- stored; `stamp` ties a token to the state it was issued for (the address to verify, a digest of the password
-- hash to replace), so a later change makes every older token of that kind useless without finding them.
-- Transient: not carried by export/import (a pending link is requested again); expired rows are deleted
-- when met and by the expiry sweep on issue.
CREATE TABLE account_tokens (
  token_hash TEXT    PRIMARY KEY,
  kind       TEXT    NOT NULL,
  user_id    INTEGER NOT NULL,
  stamp      TEXT    NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX account_tokens_by_expiry ON account_tokens (expires_at);
