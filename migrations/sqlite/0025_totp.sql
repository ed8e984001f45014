-- Issue 23: TOTP two-factor authentication. The shared secret (base32, null = 2FA off) and the SHA-256 hashes
-- of the unused backup codes (a JSON array, null = none). A backup code is used up by a conditional update that
-- names the list it read, so two concurrent uses of one code cannot both succeed.
ALTER TABLE users ADD COLUMN mfa_secret TEXT;
ALTER TABLE users ADD COLUMN mfa_backup_codes TEXT;
