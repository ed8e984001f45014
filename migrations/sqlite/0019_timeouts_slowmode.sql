-- Timeouts: until when (epoch ms) a member may not communicate (Discord's communication_disabled_until). Checked
-- against the clock wherever it matters, so a timeout ends by itself; null: never timed out (or lifted).
ALTER TABLE members ADD COLUMN communication_disabled_until INTEGER;
-- Slowmode: seconds a member waits between messages in a channel (Discord's rate_limit_per_user, 0-21600).
ALTER TABLE channels ADD COLUMN rate_limit_per_user INTEGER NOT NULL DEFAULT 0;
