import type {
  InstanceSecretRecord,
  NotificationPrefsRecord,
  NotificationPrefsRepository,
  PushRepository,
  PushSubscriptionRecord,
} from '../../contract';
import { toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import {
  INSTANCE_SECRETS,
  type InstanceSecretRow,
  NOTIFICATION_PREFS,
  type NotificationPrefsRow,
  PUSH_SUBSCRIPTIONS,
  type PushSubscriptionRow,
} from '../tables';

const LIST = `SELECT ${PUSH_SUBSCRIPTIONS.columns} FROM push_subscriptions WHERE user_id = ? ORDER BY endpoint_id`;
const SECRET = `SELECT ${INSTANCE_SECRETS.columns} FROM instance_secrets WHERE name = ?`;

/** Web Push subscriptions keyed by (user, endpoint hash); instance secrets by name. */
export class SqlitePushRepository implements PushRepository {
  constructor(private readonly db: SqliteDb) {}

  putSubscription(subscription: PushSubscriptionRecord): Promise<void> {
    return settle(() => {
      this.db.run(PUSH_SUBSCRIPTIONS.upsert, ...PUSH_SUBSCRIPTIONS.params(subscription));
    });
  }

  listSubscriptions(userId: string): Promise<PushSubscriptionRecord[]> {
    return settle(() =>
      this.db.all<PushSubscriptionRow>(LIST, toId(userId)).map(PUSH_SUBSCRIPTIONS.toRecord),
    );
  }

  deleteSubscription(userId: string, endpointId: string): Promise<void> {
    return settle(() => {
      this.db.run(PUSH_SUBSCRIPTIONS.delete, toId(userId), endpointId);
    });
  }

  getSecret(name: string): Promise<InstanceSecretRecord | null> {
    return settle(() => {
      const row = this.db.get<InstanceSecretRow>(SECRET, name);
      return row ? INSTANCE_SECRETS.toRecord(row) : null;
    });
  }

  putSecretIfAbsent(secret: InstanceSecretRecord): Promise<InstanceSecretRecord> {
    return settle(() =>
      this.db.transaction(() => {
        this.db.run(INSTANCE_SECRETS.insertIfAbsent, ...INSTANCE_SECRETS.params(secret));
        return INSTANCE_SECRETS.toRecord(this.db.get<InstanceSecretRow>(SECRET, secret.name)!);
      }),
    );
  }
}

const PREFS = `SELECT ${NOTIFICATION_PREFS.columns} FROM notification_preferences WHERE user_id = ?`;

/** Each user's own notification preferences, one row per user who changed them. */
export class SqliteNotificationPrefsRepository implements NotificationPrefsRepository {
  constructor(private readonly db: SqliteDb) {}

  put(prefs: NotificationPrefsRecord): Promise<void> {
    return settle(() => {
      this.db.run(NOTIFICATION_PREFS.upsert, ...NOTIFICATION_PREFS.params(prefs));
    });
  }

  find(userId: string): Promise<NotificationPrefsRecord | null> {
    return settle(() => {
      const row = this.db.get<NotificationPrefsRow>(PREFS, toId(userId));
      return row ? NOTIFICATION_PREFS.toRecord(row) : null;
    });
  }
}
