-- Issue 23: single sign-on over OpenID Connect. Which account an identity of a provider (its `sub` claim at
-- the provider configured under that id) logs in to. The primary key is the claim: an identity belongs to one
-- account at most. `email` is what the provider said when the link was made (kept for the owner's data export).
CREATE TABLE user_identities (
  provider   TEXT    NOT NULL,
  subject    TEXT    NOT NULL,
  user_id    INTEGER NOT NULL,
  email      TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (provider, subject)
) WITHOUT ROWID;
-- An account's identities (its data export, its deletion).
CREATE INDEX user_identities_by_user ON user_identities (user_id);
