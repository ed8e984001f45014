import type { InviteRecord, InviteRepository } from '../../contract';
import { toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { INVITES, type InviteRow } from '../tables';

const FIND = `SELECT ${INVITES.columns} FROM invites WHERE code = ?`;
const BY_GUILD = `SELECT ${INVITES.columns} FROM invites WHERE guild_id = ? ORDER BY created_at, code`;
// Check and count in one statement, so two racing joins cannot both take the last use.
const USE = `UPDATE invites SET uses = uses + 1
  WHERE code = ? AND (max_uses = 0 OR uses < max_uses) AND (expires_at IS NULL OR expires_at > ?)`;
const toRecord = INVITES.toRecord;

export class SqliteInviteRepository implements InviteRepository {
  constructor(private readonly db: SqliteDb) {}

  create(invite: InviteRecord): Promise<void> {
    return settle(() => {
      this.db.run(INVITES.insert, ...INVITES.params(invite));
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
      this.db.run(INVITES.delete, code);
    });
  }
}
