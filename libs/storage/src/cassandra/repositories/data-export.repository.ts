import type { DataExportRecord, DataExportRepository } from '../../contract';
import { toId } from '../codec';
import type { CassandraSession } from '../session';
import { DATA_EXPORTS } from '../tables';

/** Each account's latest personal data export: one row per user. */
export class CassandraDataExportRepository implements DataExportRepository {
  constructor(private readonly db: CassandraSession) {}

  async put(record: DataExportRecord): Promise<void> {
    await this.db.execute('write', DATA_EXPORTS.insert, DATA_EXPORTS.params(record), { idempotent: true });
  }

  async find(userId: string): Promise<DataExportRecord | null> {
    const row = (
      await this.db.execute('read', DATA_EXPORTS.find, [toId(userId)], { idempotent: true })
    ).first();
    return row && row.get(DATA_EXPORTS.present) !== null ? DATA_EXPORTS.toRecord(row) : null;
  }

  async delete(userId: string): Promise<void> {
    await this.db.execute('write', DATA_EXPORTS.delete, [toId(userId)], { idempotent: true });
  }
}
