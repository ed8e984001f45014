import type {
  InstanceSecretRecord,
  NotificationPrefsRecord,
  NotificationPrefsRepository,
  PushRepository,
  PushSubscriptionRecord,
} from '../../contract';
import { toId } from '../codec';
import type { CassandraSession } from '../session';
import { INSTANCE_SECRETS, NOTIFICATION_PREFS, PUSH_SUBSCRIPTIONS } from '../tables';

const LIST = `SELECT ${PUSH_SUBSCRIPTIONS.columns} FROM push_subscriptions WHERE user_id = ?`;
const SECRET = `SELECT ${INSTANCE_SECRETS.columns} FROM instance_secrets WHERE name = ?`;
const SECRET_CLAIM = `${INSTANCE_SECRETS.insert} IF NOT EXISTS`;

/**
 * Web Push subscriptions in one partition per user (bounded by the per-user device cap), clustered by endpoint
 * hash. Instance secrets are claimed with a lightweight transaction, so every process ends up with one value.
 */
export class CassandraPushRepository implements PushRepository {
  constructor(private readonly db: CassandraSession) {}

  async putSubscription(subscription: PushSubscriptionRecord): Promise<void> {
    await this.db.execute('write', PUSH_SUBSCRIPTIONS.insert, PUSH_SUBSCRIPTIONS.params(subscription), {
      idempotent: true,
    });
  }

  async listSubscriptions(userId: string): Promise<PushSubscriptionRecord[]> {
    const rs = await this.db.execute('read', LIST, [toId(userId)], { idempotent: true });
    return rs.rows
      .filter((row) => row.get(PUSH_SUBSCRIPTIONS.present) !== null)
      .map(PUSH_SUBSCRIPTIONS.toRecord);
  }

  async deleteSubscription(userId: string, endpointId: string): Promise<void> {
    await this.db.execute('write', PUSH_SUBSCRIPTIONS.delete, [toId(userId), endpointId], {
      idempotent: true,
    });
  }

  async getSecret(name: string): Promise<InstanceSecretRecord | null> {
    const row = (await this.db.execute('read', SECRET, [name], { idempotent: true })).first();
    return row && row.get(INSTANCE_SECRETS.present) !== null ? INSTANCE_SECRETS.toRecord(row) : null;
  }

  async putSecretIfAbsent(secret: InstanceSecretRecord): Promise<InstanceSecretRecord> {
    const rs = await this.db.execute('lwt', SECRET_CLAIM, INSTANCE_SECRETS.params(secret), {
      idempotent: false,
    });
    if (rs.wasApplied()) return secret;
    const row = rs.first();
    if (row && row.get(INSTANCE_SECRETS.present) !== null) return INSTANCE_SECRETS.toRecord(row);
    // A claim that timed out may have been applied: read what is stored.
    const stored = await this.getSecret(secret.name);
    if (!stored) throw new Error(`instance secret ${secret.name} was neither stored nor found`);
    return stored;
  }
}

const PREFS = `SELECT ${NOTIFICATION_PREFS.columns} FROM notification_preferences WHERE user_id = ?`;

/** Each user's own notification preferences, one row per user who changed them. */
export class CassandraNotificationPrefsRepository implements NotificationPrefsRepository {
  constructor(private readonly db: CassandraSession) {}

  async put(prefs: NotificationPrefsRecord): Promise<void> {
    await this.db.execute('write', NOTIFICATION_PREFS.insert, NOTIFICATION_PREFS.params(prefs), {
      idempotent: true,
    });
  }

  async find(userId: string): Promise<NotificationPrefsRecord | null> {
    const row = (await this.db.execute('read', PREFS, [toId(userId)], { idempotent: true })).first();
    return row && row.get(NOTIFICATION_PREFS.present) !== null ? NOTIFICATION_PREFS.toRecord(row) : null;
  }
}
