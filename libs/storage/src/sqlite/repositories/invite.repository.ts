import type { InviteRecord, InviteRepository } from '../../contract';
import { fromId, toId, toNumber, toNumberOrNull } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';

export interface InviteRow {
  code: string;
  guild_id: bigint;
  channel_id: bigint;
  inviter_id: bigint;
  max_age: bigint;
  max_uses: bigint;
  uses: bigint;
  created_at: bigint;
  expires_at: bigint | null;
}

const COLUMNS = 'code, guild_id, channel_id, inviter_id, max_age, max_uses, uses, created_at, expires_at';
const INSERT = `INSERT INTO invites (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const FIND = `SELECT ${COLUMNS} FROM invites WHERE code = ?`;
const BY_GUILD = `SELECT ${COLUMNS} FROM invites WHERE guild_id = ? ORDER BY created_at, code`;
// Check and count in one statement, so two racing joins cannot both take the last use.
const USE = `UPDATE invites SET uses = uses + 1
  WHERE code = ? AND (max_uses = 0 OR uses < max_uses) AND (expires_at IS NULL OR expires_at > ?)`;
const DELETE = 'DELETE FROM invites WHERE code = ?';

export function toRecord(row: InviteRow): InviteRecord {
  return {
    code: row.code,
    guildId: fromId(row.guild_id),
    channelId: fromId(row.channel_id),
    inviterId: fromId(row.inviter_id),
    maxAge: toNumber(row.max_age),
    maxUses: toNumber(row.max_uses),
    uses: toNumber(row.uses),
    createdAt: toNumber(row.created_at),
    expiresAt: toNumberOrNull(row.expires_at),
  };
}

export class SqliteInviteRepository implements InviteRepository {
  constructor(private readonly db: SqliteDb) {}

  create(invite: InviteRecord): Promise<void> {
    return settle(() => {
      this.db.run(
        INSERT,
        invite.code,
        toId(invite.guildId),
        toId(invite.channelId),
        toId(invite.inviterId),
        invite.maxAge,
        invite.maxUses,
        invite.uses,
        invite.createdAt,
        invite.expiresAt,
      );
    });
  }

  find(code: string): Promise<InviteRecord | null> {
    return settle(() => {
      const row = this.db.get<InviteRow>(FIND, code);
      return row ? toRecord(row) : null;
    });
  }

  listByGuild(guildId: string): Promise<InviteRecord[]> {
    return settle(() => this.db.all<InviteRow>(BY_GUILD, toId(guildId)).map(toRecord));
  }

  use(code: string, now: number): Promise<boolean> {
    return settle(() => this.db.run(USE, code, now) === 1);
  }

  delete(code: string): Promise<void> {
    return settle(() => {
      this.db.run(DELETE, code);
    });
  }
}
