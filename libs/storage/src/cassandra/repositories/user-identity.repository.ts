import type { UserIdentityRecord, UserIdentityRepository } from '../../contract';
import { fromId, toId } from '../codec';
import type { CassandraSession } from '../session';
import { USER_IDENTITIES } from '../tables';

/**
 * Single sign-on identities: one partition per identity (claimed by a lightweight transaction) and the same
 * rows by account. The by-account row is written before the claim, so a link that was applied is always
 * found by its account (its deletion must reach it); a claim lost to another account takes its row back.
 */
export class CassandraUserIdentityRepository implements UserIdentityRepository {
  constructor(private readonly db: CassandraSession) {}

  async link(identity: UserIdentityRecord): Promise<boolean> {
    const params = USER_IDENTITIES.params(identity);
    await this.db.execute('write', USER_IDENTITIES.insertByUser, params, { idempotent: true });
    const rs = await this.db.execute('lwt', USER_IDENTITIES.claim, params, { idempotent: false });
    if (rs.wasApplied()) return true;
    const holder = rs.first();
    if (holder && fromId(holder.get('user_id')) !== identity.userId) {
      await this.db.execute(
        'write',
        USER_IDENTITIES.deleteOneByUser,
        [toId(identity.userId), identity.provider, identity.subject],
        { idempotent: true },
      );
    }
    return false;
  }

  async find(provider: string, subject: string): Promise<UserIdentityRecord | null> {
    const row = (
      await this.db.execute('read', USER_IDENTITIES.find, [provider, subject], { idempotent: true })
    ).first();
    return row && row.get(USER_IDENTITIES.present) !== null ? USER_IDENTITIES.toRecord(row) : null;
  }

  async listForUser(userId: string): Promise<UserIdentityRecord[]> {
    const rs = await this.db.execute('read', USER_IDENTITIES.listForUser, [toId(userId)], {
      idempotent: true,
    });
    return rs.rows.map(USER_IDENTITIES.toRecord);
  }

  async deleteForUser(userId: string): Promise<void> {
    for (const identity of await this.listForUser(userId)) {
      await this.db.execute('write', USER_IDENTITIES.delete, [identity.provider, identity.subject], {
        idempotent: true,
      });
    }
    await this.db.execute('write', USER_IDENTITIES.deleteByUser, [toId(userId)], { idempotent: true });
  }
}
