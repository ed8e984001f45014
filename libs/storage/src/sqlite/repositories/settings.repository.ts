import type { SettingsRepository } from '../../contract';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';

const GET = 'SELECT value FROM instance_settings WHERE key = ?';
const PUT = `INSERT INTO instance_settings (key, value, updated_at) VALUES (?, ?, ?)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`;

const CLAIM =
  'INSERT INTO instance_settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING';

export class SqliteSettingsRepository implements SettingsRepository {
  constructor(private readonly db: SqliteDb) {}

  get(key: string): Promise<string | null> {
    return settle(() => this.db.get<{ value: string }>(GET, key)?.value ?? null);
  }

  put(key: string, value: string): Promise<void> {
    return settle(() => {
      this.db.run(PUT, key, value, Date.now());
    });
  }

  claim(key: string, value: string): Promise<boolean> {
    return settle(() => this.db.run(CLAIM, key, value, Date.now()) === 1);
  }
}
