import type { DataExportRecord, DataExportRepository } from '../../contract';
import { toId } from '../codec';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';
import { DATA_EXPORTS, type DataExportRow } from '../tables';

const FIND = `SELECT ${DATA_EXPORTS.columns} FROM data_exports WHERE user_id = ?`;

/** Each account's latest personal data export, keyed by user. */
export class SqliteDataExportRepository implements DataExportRepository {
  constructor(private readonly db: SqliteDb) {}

  put(record: DataExportRecord): Promise<void> {
    return settle(() => {
      this.db.run(DATA_EXPORTS.upsert, ...DATA_EXPORTS.params(record));
    });
  }

  find(userId: string): Promise<DataExportRecord | null> {
    return settle(() => {
      const row = this.db.get<DataExportRow>(FIND, toId(userId));
      return row ? DATA_EXPORTS.toRecord(row) : null;
    });
  }

  delete(userId: string): Promise<void> {
    return settle(() => {
      this.db.run(DATA_EXPORTS.delete, toId(userId));
    });
  }
}
