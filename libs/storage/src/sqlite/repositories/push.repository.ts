import type { InstanceSecretRecord, PushRepository, PushSubscriptionRecord } from '../../contract';
import { toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import {
  INSTANCE_SECRETS,
  type InstanceSecretRow,
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
