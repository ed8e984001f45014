-- Issue 23: instance administrators, disabled accounts and the approval registration mode.
-- `admin`: the account administers the instance (the first account of a new instance; `instance.admins` in the
-- config names more without a write). `disabled`: an admin switched the account off (no login, no token works).
-- `approval_pending`: registered under `instance.registration: approval` and not approved yet (no login).
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN approval_pending INTEGER NOT NULL DEFAULT 0;
-- The registrations waiting for approval, newest first, without a scan of the users.
CREATE INDEX users_approval_pending ON users (id) WHERE approval_pending = 1;

-- An instance that already has accounts is not new: its next registration must not become the first admin.
INSERT INTO instance_settings (key, value, updated_at)
  SELECT 'instance.first_admin', '0', 0 WHERE EXISTS (SELECT 1 FROM users);
