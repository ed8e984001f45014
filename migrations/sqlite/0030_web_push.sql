-- Web Push (issue 22): each device's push subscription (a Web Push API subscription: the push service's
-- endpoint URL and the device's P-256 public key and auth secret), keyed by user and a hash of the endpoint,
-- so subscribing the same device again replaces its row.
CREATE TABLE push_subscriptions (
  user_id     INTEGER NOT NULL,
  endpoint_id TEXT    NOT NULL,
  endpoint    TEXT    NOT NULL,
  p256dh      TEXT    NOT NULL,
  auth        TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (user_id, endpoint_id)
) WITHOUT ROWID;

-- Secrets the instance generates once and every process shares (the VAPID key pair): the first writer wins.
CREATE TABLE instance_secrets (
  name       TEXT    NOT NULL PRIMARY KEY,
  value      TEXT    NOT NULL,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
