-- Notification preferences that are the user's, not a guild's (issue 22): whether missed mentions and DMs are
-- emailed. No row means the default (on); the one-click unsubscribe link writes email_enabled = 0.
CREATE TABLE notification_preferences (
  user_id       INTEGER NOT NULL PRIMARY KEY,
  email_enabled INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) WITHOUT ROWID;
