import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteDb, openWriter } from './connection';
import { defaultMigrationsDir, migrate } from './migrator';
import { ReaderPool } from './reader-pool';

describe('ReaderPool', () => {
  let dir: string;
  let writer: SqliteDb;
  const settings = (path: string) => ({ path, size: 2, busyTimeout: 1000, cacheSize: -1000, mmapSize: 0 });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-readers-'));
    writer = new SqliteDb(
      openWriter({
        path: join(dir, 'r.db'),
        max_open_conns: 3,
        busy_timeout: 1000,
        cache_size: -1000,
        mmap_size: 0,
        synchronous: 'NORMAL',
        wal_autocheckpoint: 1000,
      }),
    );
    migrate(writer, defaultMigrationsDir());
  });

  afterAll(() => {
    writer.raw.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs hot queries on reader threads and sees committed writes with full-width ids', async () => {
    const pool = new ReaderPool(settings(join(dir, 'r.db')));
    const id = (1n << 62n) + 1n;
    writer.run(
      'INSERT INTO messages (id, channel_id, author_id, content) VALUES (?, ?, ?, ?)',
      id,
      (1n << 62n) + 3n,
      1n,
      'hi',
    );
    const rows = await Promise.all(
      [1, 2, 3].map(() => pool.all<{ id: bigint }>('messages.latest', [(1n << 62n) + 3n, 10])),
    );
    expect(rows.map((page) => page.map((row) => row.id))).toEqual([[id], [id], [id]]);
    await pool.close();
    await expect(pool.all('messages.latest', [1n, 1])).rejects.toThrow(/closed/);
  });

  it('rejects instead of hanging when a reader cannot open the database', async () => {
    const pool = new ReaderPool(settings(join(dir, 'missing', 'nope.db')));
    await expect(pool.all('messages.latest', [1n, 1])).rejects.toThrow();
    await pool.close();
  });
});
