import type { SettingsRepository } from '../../contract';
import type { CassandraSession } from '../session';

const GET = 'SELECT value FROM instance_settings WHERE key = ?';
const PUT = 'INSERT INTO instance_settings (key, value, updated_at) VALUES (?, ?, ?)';
const CLAIM = 'INSERT INTO instance_settings (key, value, updated_at) VALUES (?, ?, ?) IF NOT EXISTS';

/** Instance settings: `put` for values that change (the maintenance flag), `claim` (LWT) for set-once keys. */
export class CassandraSettingsRepository implements SettingsRepository {
  constructor(private readonly db: CassandraSession) {}

  async get(key: string): Promise<string | null> {
    const row = (await this.db.execute('read', GET, [key], { idempotent: true })).first();
    return (row?.get('value') as string | null | undefined) ?? null;
  }

  async claim(key: string, value: string): Promise<string> {
    const rs = await this.db.execute('lwt', CLAIM, [key, value, new Date()], { idempotent: false });
    const row = rs.first();
    if (row?.get('[applied]') === true) return value;
    // Not applied: the row that holds the key comes back with the answer (or a retry of our own write did).
    return (row?.get('value') as string | null | undefined) ?? (await this.get(key)) ?? value;
  }

  async put(key: string, value: string): Promise<void> {
    await this.db.execute('write', PUT, [key, value, new Date()], { idempotent: true });
  }
}
