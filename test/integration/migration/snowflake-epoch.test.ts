import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import {
  DISCORD_EPOCH,
  PARLEY_EPOCH,
  SnowflakeGenerator,
  setSnowflakeEpoch,
  snowflakeEpoch,
  snowflakeTime,
} from '@parley/common';
import { exportTo, importFrom, migrate, openSource, openTarget } from '@parley/migration';
import { SNOWFLAKE_EPOCH_SETTING, SqliteStorage } from '@parley/storage';
import { userRecord } from '@parley/storage/testing';
import { tempDir, testConfig } from './support';

// The instance's snowflake epoch (issue 21): a new database records Discord's, an existing one (users, and
// no recorded epoch: made before the epoch was recorded) keeps Parley's first; migrate, export and import
// carry it with the ids, which keep decoding to the times they were minted at.
const dir = tempDir();
const config = testConfig();
const settings = (name: string) => ({ ...config.database.sqlite, path: join(dir.path, name) });
const sqlite = (name: string) => ({ kind: 'sqlite' as const, path: join(dir.path, name) });

async function recorded(name: string): Promise<string | null> {
  const storage = new SqliteStorage(settings(name));
  try {
    return await storage.instanceSettings.get(SNOWFLAKE_EPOCH_SETTING);
  } finally {
    await storage.close();
  }
}

/** A database as an instance from before the epoch was recorded left it: a user minted from 2024, no setting. */
async function legacyDatabase(name: string, mintedAt: number): Promise<string> {
  const storage = new SqliteStorage(settings(name));
  await storage.migrate();
  setSnowflakeEpoch(PARLEY_EPOCH);
  const id = new SnowflakeGenerator(1, 1, () => mintedAt).next();
  await storage.users.create(userRecord(id));
  await storage.close();
  const db = new Database(join(dir.path, name));
  db.prepare('DELETE FROM instance_settings WHERE key = ?').run(SNOWFLAKE_EPOCH_SETTING);
  db.close();
  setSnowflakeEpoch(DISCORD_EPOCH);
  return id;
}

afterEach(() => setSnowflakeEpoch(DISCORD_EPOCH));
afterAll(() => dir.remove());

it("a new database records Discord's epoch and mints from it", async () => {
  setSnowflakeEpoch(PARLEY_EPOCH); // whatever the process believed before
  const storage = new SqliteStorage(settings('new.db'));
  await storage.migrate();
  await storage.close();
  expect(await recorded('new.db')).toBe(String(DISCORD_EPOCH));
  expect(snowflakeEpoch()).toBe(DISCORD_EPOCH);
});

it("an existing database keeps Parley's first epoch: its ids decode to the times they were minted at", async () => {
  const at = Date.UTC(2025, 5, 1, 12);
  const id = await legacyDatabase('legacy.db', at);
  const storage = new SqliteStorage(settings('legacy.db'));
  await storage.migrate();
  expect(await storage.instanceSettings.get(SNOWFLAKE_EPOCH_SETTING)).toBe(String(PARLEY_EPOCH));
  expect(snowflakeEpoch()).toBe(PARLEY_EPOCH);
  expect(snowflakeTime(id)).toBe(at);
  expect((await storage.users.findById(id))?.id).toBe(id);
  await storage.close();
});

it('migrate gives the target the source epoch, even a target that recorded another while empty', async () => {
  const at = Date.UTC(2025, 0, 2);
  const id = await legacyDatabase('legacy-source.db', at);
  // The target was schema-migrated first (empty: it recorded Discord's epoch).
  const fresh = new SqliteStorage(settings('target.db'));
  await fresh.migrate();
  await fresh.close();
  expect(await recorded('target.db')).toBe(String(DISCORD_EPOCH));

  const source = await openSource(sqlite('legacy-source.db'), config);
  const target = await openTarget(sqlite('target.db'), config);
  try {
    const result = await migrate(source, target);
    expect(result.verified).toBe(true);
  } finally {
    await source.close();
    await target.close();
  }
  expect(await recorded('target.db')).toBe(String(PARLEY_EPOCH));
  expect(snowflakeTime(id)).toBe(at);

  // A target holding data counted from another epoch is refused, not mixed.
  const other = new SqliteStorage(settings('other.db'));
  await other.migrate();
  await other.users.create(userRecord(new SnowflakeGenerator(2, 2).next()));
  await other.close();
  const again = await openSource(sqlite('legacy-source.db'), config);
  const busy = await openTarget(sqlite('other.db'), config);
  try {
    await expect(migrate(again, busy)).rejects.toThrow(/copy into an empty database/);
  } finally {
    await again.close();
    await busy.close();
  }
});

it('export writes the epoch in the header; import records it (and 2024 for older files without it)', async () => {
  const at = Date.UTC(2025, 8, 9);
  await legacyDatabase('exported.db', at);
  const source = await openSource(sqlite('exported.db'), config);
  const file = join(dir.path, 'legacy.ndjson.gz');
  try {
    await exportTo(source.bulk, file);
  } finally {
    await source.close();
  }
  const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
  expect(JSON.parse(lines[0])).toMatchObject({ format: 'parley-export', snowflake_epoch: PARLEY_EPOCH });

  const target = await openTarget(sqlite('imported.db'), config);
  try {
    const result = await importFrom(target.bulk, file);
    expect(result.problems).toEqual([]);
  } finally {
    await target.close();
  }
  expect(await recorded('imported.db')).toBe(String(PARLEY_EPOCH));

  // A file from before the header carried the epoch: its ids count from 2024.
  const header = JSON.parse(lines[0]) as Record<string, unknown>;
  delete header.snowflake_epoch;
  const older = join(dir.path, 'older.ndjson');
  writeFileSync(older, [JSON.stringify(header), ...lines.slice(1)].join('\n'));
  const target2 = await openTarget(sqlite('imported-older.db'), config);
  try {
    expect((await importFrom(target2.bulk, older)).problems).toEqual([]);
  } finally {
    await target2.close();
  }
  expect(await recorded('imported-older.db')).toBe(String(PARLEY_EPOCH));
});
