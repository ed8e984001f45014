import type {
  BulkRecords,
  BulkStorage,
  BulkTable,
  MigrationCheckpoint,
  ScanPage,
  UserRecord,
} from '@parley/storage';
import { copyTables } from './copy';

const user = (i: number): UserRecord => ({
  id: String(1000 + i),
  username: `u${i}`,
  email: `u${i}@example.test`,
  displayName: null,
  avatar: null,
  passwordHash: 'x',
  createdAt: 0,
  emailVerified: true,
  mfaSecret: null,
  mfaBackupCodes: [],
});

/** Users only; scans in id order with a numeric cursor; writes settle when the test says so. */
class Fake implements Partial<BulkStorage> {
  readonly rows = new Map<string, UserRecord>();
  readonly saved: MigrationCheckpoint[] = [];
  pending: { records: readonly UserRecord[]; resolve: () => void; reject: (e: Error) => void }[] = [];
  manual = false;
  constructor(readonly source: UserRecord[] = []) {}

  scan<T extends BulkTable>(
    table: T,
    cursor: string | null,
    limit: number,
  ): Promise<ScanPage<BulkRecords[T]>> {
    const start = cursor === null ? 0 : Number(cursor);
    const records = (table === 'users' ? this.source.slice(start, start + limit) : []) as BulkRecords[T][];
    const end = start + records.length;
    return Promise.resolve({ records, cursor: records.length < limit ? null : String(end) });
  }
  count(): Promise<number | null> {
    return Promise.resolve(null);
  }
  write<T extends BulkTable>(_table: T, records: readonly BulkRecords[T][]) {
    const apply = () => {
      for (const r of records as readonly UserRecord[]) this.rows.set(r.id, r);
    };
    if (!this.manual) {
      apply();
      return Promise.resolve([]);
    }
    return new Promise<never[]>((resolve, reject) =>
      this.pending.push({
        records: records as readonly UserRecord[],
        resolve: () => (apply(), resolve([])),
        reject,
      }),
    );
  }
  checkpoints = {
    list: () => Promise.resolve(this.saved.length ? [this.saved[this.saved.length - 1]] : []),
    save: (_source: string, cp: MigrationCheckpoint) => {
      this.saved.push(cp);
      return Promise.resolve();
    },
    clear: () => {
      this.saved.length = 0;
      return Promise.resolve();
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('copyTables', () => {
  it('advances the checkpoint only over batches that are all written, whatever order they finish in', async () => {
    const source = new Fake(Array.from({ length: 10 }, (_, i) => user(i)));
    const target = new Fake();
    target.manual = true;
    const run = copyTables({
      source: source as unknown as BulkStorage,
      target: target as unknown as BulkStorage,
      sourceId: 's',
      tables: ['users'],
      batchSize: 2,
      parallel: 3,
    });
    while (target.pending.length < 3) await tick();
    // Batches 2 and 3 finish first: batch 1 is still out, so the checkpoint must not move.
    target.pending[2].resolve();
    target.pending[1].resolve();
    await tick();
    expect(target.saved.map((c) => c.rows)).toEqual([0, 0]);
    target.pending[0].resolve();
    await tick();
    expect(target.saved.at(-1)).toMatchObject({ rows: 6, cursor: '6', done: false });
    while (target.pending.length < 5) await tick();
    target.pending[3].resolve();
    target.pending[4].resolve();
    const [users] = await run;
    expect(users).toMatchObject({ table: 'users', rows: 10, copied: 10, resumedAt: 0 });
    expect(target.saved.at(-1)).toMatchObject({ rows: 10, done: true });
  });

  it('stops at a failed batch with the checkpoint before it, and resumes there', async () => {
    const source = new Fake(Array.from({ length: 10 }, (_, i) => user(i)));
    const target = new Fake();
    target.manual = true;
    const run = copyTables({
      source: source as unknown as BulkStorage,
      target: target as unknown as BulkStorage,
      sourceId: 's',
      tables: ['users'],
      batchSize: 2,
      parallel: 2,
    });
    while (target.pending.length < 2) await tick();
    target.pending[0].resolve();
    target.pending[1].reject(new Error('connection lost'));
    await expect(run).rejects.toThrow('connection lost');
    expect(target.saved.at(-1)).toMatchObject({ rows: 2, cursor: '2', done: false });

    target.manual = false;
    const [users] = await copyTables({
      source: source as unknown as BulkStorage,
      target: target as unknown as BulkStorage,
      sourceId: 's',
      tables: ['users'],
      batchSize: 2,
    });
    expect(users).toMatchObject({ rows: 10, copied: 8, resumedAt: 2 });
    expect([...target.rows.keys()]).toHaveLength(10);
    // Done tables are skipped by the next run.
    const [again] = await copyTables({
      source: source as unknown as BulkStorage,
      target: target as unknown as BulkStorage,
      sourceId: 's',
      tables: ['users'],
    });
    expect(again).toMatchObject({ skipped: true, rows: 10, copied: 0 });
  });
});
