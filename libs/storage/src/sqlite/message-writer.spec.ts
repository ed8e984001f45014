import Database from 'better-sqlite3';
import { SqliteDb } from './connection';
import { MessageWriter } from './message-writer';

describe('MessageWriter (group commit)', () => {
  let db: SqliteDb;
  const insert = 'INSERT INTO t (id, v) VALUES (?, ?)';
  const rows = (): number => Number(db.get<{ n: bigint }>('SELECT count(*) AS n FROM t')?.n);

  beforeEach(() => {
    const raw = new Database(':memory:');
    raw.defaultSafeIntegers(true);
    raw.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL CHECK (v <> 'bad'))");
    db = new SqliteDb(raw);
  });

  afterEach(() => db.raw.close());

  it('commits the writes of one tick in a single transaction, after the caller returns', async () => {
    const transaction = jest.spyOn(db, 'transaction');
    const writer = new MessageWriter(db, insert);
    const writes = [1n, 2n, 3n].map((id) => writer.write([id, 'ok']));
    expect(rows()).toBe(0);
    await Promise.all(writes);
    expect(rows()).toBe(3);
    expect(transaction).toHaveBeenCalledTimes(1);
  });

  it('flushes as soon as a batch is full', async () => {
    const transaction = jest.spyOn(db, 'transaction');
    const writer = new MessageWriter(db, insert, 2);
    const writes = [1n, 2n, 3n, 4n, 5n].map((id) => writer.write([id, 'ok']));
    expect(rows()).toBe(4);
    await Promise.all(writes);
    expect(rows()).toBe(5);
    expect(transaction).toHaveBeenCalledTimes(3);
  });

  it('fails only the bad row of a batch', async () => {
    const writer = new MessageWriter(db, insert);
    const results = await Promise.allSettled([
      writer.write([1n, 'ok']),
      writer.write([2n, 'bad']),
      writer.write([3n, 'ok']),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(db.all<{ id: bigint }>('SELECT id FROM t ORDER BY id').map((r) => r.id)).toEqual([1n, 3n]);
  });

  it('flush commits pending writes immediately', async () => {
    const writer = new MessageWriter(db, insert);
    const write = writer.write([1n, 'ok']);
    writer.flush();
    expect(rows()).toBe(1);
    await write;
  });
});
