import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ParleyConfig } from '@parley/config';
import { seedCommunity, type SampleSize } from '@parley/migration';
import { SqliteStorage, type Storage } from '@parley/storage';

/** The default configuration with a database path and Cassandra keyspace of the test's own. */
export function testConfig(overrides: { sqlitePath?: string; keyspace?: string } = {}): ParleyConfig {
  const config = loadConfig({ env: {} });
  return {
    ...config,
    database: {
      ...config.database,
      sqlite: {
        ...config.database.sqlite,
        path: overrides.sqlitePath ?? config.database.sqlite.path,
        max_open_conns: 1,
      },
      cassandra: {
        ...config.database.cassandra,
        keyspace: overrides.keyspace ?? config.database.cassandra.keyspace,
        request_timeout: 20_000,
      },
    },
  };
}

export function tempDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'parley-migration-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A SQLite file holding a sample community (written through the repositories), closed again. */
export async function seededSqlite(path: string, size: SampleSize, seed = 42) {
  const storage = new SqliteStorage({ ...testConfig().database.sqlite, path });
  await storage.migrate();
  try {
    return await seedCommunity(storage, size, seed);
  } finally {
    await storage.close();
  }
}

/**
 * Upload usage is derived data (not in the export): after a copy or an import, each user's usage on the
 * target equals the source's, which equals the bytes of their stored attachments.
 */
export async function expectUploadUsageAgrees(
  original: Storage,
  copy: Storage,
  users: readonly string[],
): Promise<void> {
  const want = await Promise.all(users.map((u) => original.attachments.usage(u)));
  expect(want.some((bytes) => bytes > 0)).toBe(true);
  expect(await Promise.all(users.map((u) => copy.attachments.usage(u)))).toEqual(want);
}
