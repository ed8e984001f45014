import type { CounterKey, InstanceCounterRepository } from '../../contract';
import type { SqliteDb } from '../connection';
import { settle } from '../errors';

const ADD = `INSERT INTO instance_counters (name, bucket, value) VALUES (?, ?, ?)
  ON CONFLICT (name, bucket) DO UPDATE SET value = value + excluded.value`;
const GET = 'SELECT value FROM instance_counters WHERE name = ? AND bucket = ?';

export class SqliteInstanceCounterRepository implements InstanceCounterRepository {
  constructor(private readonly db: SqliteDb) {}

  add(deltas: readonly (CounterKey & { delta: number })[]): Promise<void> {
    return settle(() => {
      this.db.transaction(() => {
        for (const d of deltas) if (d.delta !== 0) this.db.run(ADD, d.name, d.bucket, d.delta);
      });
    });
  }

  get(keys: readonly CounterKey[]): Promise<number[]> {
    return settle(() =>
      keys.map((k) => Number(this.db.get<{ value: bigint }>(GET, k.name, k.bucket)?.value ?? 0)),
    );
  }
}
