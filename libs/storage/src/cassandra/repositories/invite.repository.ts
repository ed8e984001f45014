import type { types } from 'cassandra-driver';
import { UniqueViolation, type InviteRecord, type InviteRepository } from '../../contract';
import { fromId, fromTime, fromTimeOrNull, int, mapLimit, toId, toTime, toTimeOrUnset } from '../codec';
import type { CassandraSession } from '../session';

const COLUMNS = 'code, guild_id, channel_id, inviter_id, max_age, max_uses, uses, created_at, expires_at';
const CLAIM = `INSERT INTO invites (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?`;
const INDEX = 'INSERT INTO invites_by_guild (guild_id, code) VALUES (?, ?) USING TTL ?';
const FIND = `SELECT ${COLUMNS} FROM invites WHERE code = ?`;
const OF_GUILD = 'SELECT code FROM invites_by_guild WHERE guild_id = ?';
const COUNT_USE = 'UPDATE invites USING TTL ? SET uses = ? WHERE code = ? IF uses = ?';
const DELETE = 'DELETE FROM invites WHERE code = ? IF EXISTS';
const UNINDEX = 'DELETE FROM invites_by_guild WHERE guild_id = ? AND code = ?';
const UNINDEX_GUILD = 'DELETE FROM invites_by_guild WHERE guild_id = ?';

// Expired invites linger a day (so "expired" can still be told apart from "unknown"), then go by TTL.
const TTL_GRACE_S = 24 * 60 * 60;
const MAX_CAS_ROUNDS = 50;

/** Seconds the invite's rows live (0 = no TTL); a later write of the row must carry the same. */
export function ttlOf(expiresAt: number | null): number {
  return expiresAt === null ? 0 : Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000)) + TTL_GRACE_S;
}

export function toRecord(row: types.Row): InviteRecord {
  return {
    code: row.get('code') as string,
    guildId: fromId(row.get('guild_id')),
    channelId: fromId(row.get('channel_id')),
    inviterId: fromId(row.get('inviter_id')),
    maxAge: int(row, 'max_age'),
    maxUses: int(row, 'max_uses'),
    uses: int(row, 'uses'),
    createdAt: fromTime(row.get('created_at')),
    expiresAt: fromTimeOrNull(row.get('expires_at')),
  };
}

/**
 * The invite row is only ever written by lightweight transactions: the code claim (IF NOT EXISTS), each
 * use (compare-and-set on `uses`, so concurrent joins never exceed max_uses) and the delete (IF EXISTS).
 * Joins are rare and rate limited, so the Paxos round trips are affordable here.
 */
export class CassandraInviteRepository implements InviteRepository {
  constructor(private readonly db: CassandraSession) {}

  async create(invite: InviteRecord): Promise<void> {
    const ttl = ttlOf(invite.expiresAt);
    const rs = await this.db.execute(
      'lwt',
      CLAIM,
      [
        invite.code,
        toId(invite.guildId),
        toId(invite.channelId),
        toId(invite.inviterId),
        invite.maxAge,
        invite.maxUses,
        invite.uses,
        toTime(invite.createdAt),
        toTimeOrUnset(invite.expiresAt),
        ttl,
      ],
      { idempotent: false },
    );
    if (!rs.wasApplied()) throw new UniqueViolation('invite_code');
    await this.db.execute('write', INDEX, [toId(invite.guildId), invite.code, ttl], { idempotent: true });
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
    const row = (await this.db.execute('serialRead', FIND, [code], { idempotent: true })).first();
    if (!row) return false;
    const invite = toRecord(row);
    for (let round = 0; round < MAX_CAS_ROUNDS; round++) {
      if (invite.expiresAt !== null && invite.expiresAt <= now) return false;
      if (invite.maxUses > 0 && invite.uses >= invite.maxUses) return false;
      const rs = await this.db.execute(
        'lwt',
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
    await this.db.execute('lwt', DELETE, [code], { idempotent: false });
    if (invite) await this.db.execute('write', UNINDEX, [toId(invite.guildId), code], { idempotent: true });
  }

  /** Guild deletion: every invite of the guild, then its index partition. */
  async deleteAllOf(guildId: bigint): Promise<void> {
    const codes = (await this.db.all(OF_GUILD, [guildId])).map((row) => row.get('code') as string);
    await mapLimit(codes, 8, (code) => this.db.execute('lwt', DELETE, [code], { idempotent: false }));
    await this.db.execute('write', UNINDEX_GUILD, [guildId], { idempotent: true });
  }
}
