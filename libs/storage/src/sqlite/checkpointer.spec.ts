import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage } from './sqlite-storage';

describe('WAL checkpoints on their own thread', () => {
  let dir: string;
  const settings = (path: string, threads: number) => ({
    path,
    max_open_conns: threads,
    busy_timeout: 1000,
    cache_size: -1000,
    mmap_size: 0,
    synchronous: 'NORMAL' as const,
    wal_autocheckpoint: 1000,
  });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-checkpoint-'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the checkpoints out of the writer: its commits fold nothing, the thread folds all of the WAL', async () => {
    const storage = new SqliteStorage(settings(join(dir, 'c.db'), 3));
    try {
      await storage.migrate();
      expect(storage.checkpointer).not.toBeNull();
      const raw = (storage as unknown as { db: { raw: { pragma(sql: string): unknown } } }).db.raw;
      expect(raw.pragma('wal_autocheckpoint')).toEqual([{ wal_autocheckpoint: 0n }]);
      for (let i = 0; i < 200; i++)
        await storage.instanceSettings.put(`checkpoint-test-${i}`, 'x'.repeat(2000));
      // On the thread: every frame in the WAL is copied into the database file (none were by the commits).
      const report = await storage.checkpointer!.checkpointNow();
      expect(report.log).toBeGreaterThan(0);
      expect(report.checkpointed).toBe(report.log);
      expect(await storage.instanceSettings.get('checkpoint-test-199')).toBe('x'.repeat(2000));
    } finally {
      await storage.close();
    }
  });

  it('leaves them to the writer when only one connection is allowed', async () => {
    const storage = new SqliteStorage(settings(join(dir, 'one.db'), 1));
    try {
      expect(storage.checkpointer).toBeNull();
    } finally {
      await storage.close();
    }
  });
});
