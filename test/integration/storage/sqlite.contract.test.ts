import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage, type SqliteSettings, type Storage } from '@parley/storage';
import { describeStorageContract } from '@parley/storage/testing';

function settings(path: string, maxOpenConns: number): SqliteSettings {
  return {
    path,
    max_open_conns: maxOpenConns,
    busy_timeout: 5000,
    cache_size: -8000,
    mmap_size: 0,
    synchronous: 'NORMAL',
    wal_autocheckpoint: 1000,
  };
}

for (const maxOpenConns of [1, 3]) {
  let dir = '';
  describeStorageContract(
    `sqlite (max_open_conns=${maxOpenConns})`,
    () => {
      dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-'));
      // A nested path also checks that the driver creates the database's directory.
      return Promise.resolve<Storage>(
        new SqliteStorage(settings(join(dir, 'data', 'parley.db'), maxOpenConns)),
      );
    },
    async (storage) => {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  );
}
