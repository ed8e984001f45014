import { UniqueViolation, type InviteRecord, type InviteRepository } from '../../contract';
import { mapLimit, toId } from '../codec';
import type { CassandraSession } from '../session';
import { INVITES } from '../tables';

const FIND = `SELECT ${INVITES.columns} FROM invites WHERE code = ?`;
const OF_GUILD = 'SELECT code FROM invites_by_guild WHERE guild_id = ?';
const COUNT_USE = 'UPDATE invites USING TTL ? SET uses = ? WHERE code = ? IF uses = ?';
const UNINDEX_GUILD = 'DELETE FROM invites_by_guild WHERE guild_id = ?';
const MAX_CAS_ROUNDS = 50;
const toRecord = INVITES.toRecord;
const ttlOf = INVITES.ttl;

/**
 * The invite row is only ever written by lightweight transactions: the code claim (IF NOT EXISTS), each
 * use (compare-and-set on `uses`, so concurrent joins never exceed max_uses) and the delete (IF EXISTS).
 * Joins are rare and rate limited, so the Paxos round trips are affordable here.
 */
export class CassandraInviteRepository implements InviteRepository {
  constructor(private readonly db: CassandraSession) {}

  async create(invite: InviteRecord): Promise<void> {
    const ttl = ttlOf(invite.expiresAt);
    const rs = await this.db.execute('claim', INVITES.claim, INVITES.claimParams(invite, ttl), {
      idempotent: false,
    });
    if (!rs.wasApplied()) throw new UniqueViolation('invite_code');
    await this.db.execute('write', INVITES.index, [toId(invite.guildId), invite.code, ttl], {
      idempotent: true,
    });
  }

  async find(code: string): Promise<InviteRecord | null> {
    const row = (await this.db.execute('read', FIND, [code], { idempotent: true })).first();
    return row ? toRecord(row) : null;
  }

  async listByGuild(guildId: string): Promise<InviteRecord[]> {
    const codes = (await this.db.all(OF_GUILD, [toId(guildId)])).map((row) => row.get('code') as string);
    const invites = await mapLimit(codes, 16, (code) => this.find(code));
    return invites
      .filter((invite): invite is InviteRecord => invite !== null)
      .sort((a, b) => a.createdAt - b.createdAt || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  }

  async use(code: string, now: number): Promise<boolean> {
    // The current count is read at the serial consistency, so it includes every committed use.
    const row = (await this.db.execute('claimRead', FIND, [code], { idempotent: true })).first();
    if (!row) return false;
    const invite = toRecord(row);
    for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
      if (invite.expiresAt !== null && invite.expiresAt <= now) return false;
      if (invite.maxUses > 0 && invite.uses >= invite.maxUses) return false;
      const rs = await this.db.execute(
        'claim',
        COUNT_USE,
        [ttlOf(invite.expiresAt), invite.uses + 1, code, invite.uses],
        {
          idempotent: false,
        },
      );
      if (rs.wasApplied()) return true;
      // Lost the race: the LWT answer carries the current count (or nothing: the invite is gone).
      const uses = rs.first()?.get('uses') as number | null | undefined;
      if (uses === null || uses === undefined) return false;
      invite.uses = uses;
    }
    throw new Error(`invite ${code}: too much contention counting a use`);
  }

  async delete(code: string): Promise<void> {
    const invite = await this.find(code);
    await this.db.execute('claim', INVITES.delete, [code], { idempotent: false });
    if (invite)
      await this.db.execute('write', INVITES.unindex, [toId(invite.guildId), code], { idempotent: true });
  }

  /** Guild deletion: every invite of the guild, then its index partition. */
  async deleteAllOf(guildId: bigint): Promise<void> {
    const codes = (await this.db.all(OF_GUILD, [guildId])).map((row) => row.get('code') as string);
    await mapLimit(codes, 8, (code) =>
      this.db.execute('claim', INVITES.delete, [code], { idempotent: false }),
    );
    await this.db.execute('write', UNINDEX_GUILD, [guildId], { idempotent: true });
  }
}
