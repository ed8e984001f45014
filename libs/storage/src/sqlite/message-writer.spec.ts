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
    raw.exec("CREATE TABLE j (id INTEGER PRIMARY KEY, v TEXT NOT NULL CHECK (v <> 'bad'))");
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

  describe('companion rows (the jobs that follow a message)', () => {
    const job = (id: bigint, v = 'ok') => ({ sql: 'INSERT INTO j (id, v) VALUES (?, ?)', params: [id, v] });
    const jobs = (): bigint[] => db.all<{ id: bigint }>('SELECT id FROM j ORDER BY id').map((r) => r.id);

    it('are committed in the same transaction as the messages of the batch', async () => {
      const transaction = jest.spyOn(db, 'transaction');
      const writer = new MessageWriter(db, insert);
      const writes = [writer.write([1n, 'ok'], [job(10n), job(11n)]), writer.write([2n, 'ok'], [job(20n)])];
      expect(jobs()).toEqual([]);
      await Promise.all(writes);
      expect(rows()).toBe(2);
      expect(jobs()).toEqual([10n, 11n, 20n]);
      expect(transaction).toHaveBeenCalledTimes(1);
    });

    it('go with their message: a message that fails leaves no job, a job that fails leaves no message', async () => {
      const writer = new MessageWriter(db, insert);
      const results = await Promise.allSettled([
        writer.write([1n, 'ok'], [job(10n)]),
        writer.write([2n, 'bad'], [job(20n)]), // the message is refused: its job goes too
        writer.write([3n, 'ok'], [job(30n, 'bad')]), // its job is refused: the message goes too
        writer.write([4n, 'ok'], [job(40n)]),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect(db.all<{ id: bigint }>('SELECT id FROM t ORDER BY id').map((r) => r.id)).toEqual([1n, 4n]);
      expect(jobs()).toEqual([10n, 40n]);
    });
  });
});
