import type { CounterKey, InstanceCounterRepository } from '../../contract';
import { mapLimit } from '../codec';
import type { CassandraSession } from '../session';

const ADD = 'UPDATE instance_counters SET value = value + ? WHERE name = ? AND bucket = ?';
const GET = 'SELECT value FROM instance_counters WHERE name = ? AND bucket = ?';

/** Cassandra counters: an increment is not idempotent, so a timed-out add is not retried (a count may lag). */
export class CassandraInstanceCounterRepository implements InstanceCounterRepository {
  constructor(private readonly db: CassandraSession) {}

  async add(deltas: readonly (CounterKey & { delta: number })[]): Promise<void> {
    await mapLimit(
      deltas.filter((d) => d.delta !== 0),
      8,
      (d) => this.db.execute('write', ADD, [BigInt(d.delta), d.name, d.bucket], { idempotent: false }),
    );
  }

  async get(keys: readonly CounterKey[]): Promise<number[]> {
    return mapLimit(keys, 8, async (k) => {
      const row = (await this.db.execute('read', GET, [k.name, k.bucket], { idempotent: true })).first();
      return row ? Number(row.get('value') as bigint) : 0;
    });
  }
}
