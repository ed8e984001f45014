import { SnowflakeGenerator } from '@parley/common';
import {
  type AttachmentRecord,
  CassandraStorage,
  SqliteStorage,
  defaultCassandraMigrationsDir,
  defaultMigrationsDir,
} from '@parley/storage';
import { OldSchema } from './old-schema';
import { cassandraSettings, dropKeyspace, requireCassandra, testKeyspace } from '../cassandra/support';

/**
 * Migration 0007 on a database that already holds uploads: each uploader's usage starts at the bytes of the
 * attachments stored before it (SQLite: a backfill in the migration; Cassandra: its code step), and the
 * triggers or counters keep it from there. Cassandra needs `npm run cassandra:up`.
 */
jest.setTimeout(120_000);

const ids = new SnowflakeGenerator(1, 3);
const keyspace = testKeyspace('parley_usage_upgrade');
const scratch = new OldSchema();

/** A copy of a driver's migrations without 0007 and later: the schema before the quota. */
const migrationsBefore0007 = (source: string): string => scratch.migrations(source, (n) => n >= 7);

function uploads(): { records: AttachmentRecord[]; alice: string; bob: string } {
  const [channelId, alice, bob] = [ids.next(), ids.next(), ids.next()];
  const records = [
    [alice, 1000],
    [alice, 2500],
    [bob, 700],
  ].map(([uploaderId, size]) => ({
    id: ids.next(),
    channelId,
    uploaderId: String(uploaderId),
    messageId: null,
    filename: 'old.bin',
    size: Number(size),
    contentType: 'application/octet-stream',
    width: null,
    height: null,
    createdAt: Date.now(),
  }));
  return { records, alice, bob };
}

beforeAll(() => {
  scratch.open('parley-usage-migration-');
});

afterAll(async () => {
  scratch.close();
  await dropKeyspace(keyspace).catch(() => undefined);
});

describe('upload usage after migration 0007', () => {
  it('SQLite: counts the attachments stored before it, then follows deletes', async () => {
    const settings = {
      path: scratch.path('existing.db'),
      max_open_conns: 1,
      busy_timeout: 5000,
      cache_size: -2000,
      mmap_size: 0,
      synchronous: 'NORMAL' as const,
      wal_autocheckpoint: 1000,
    };
    const { records, alice, bob } = uploads();
    const old = new SqliteStorage(settings, migrationsBefore0007(defaultMigrationsDir()));
    await old.migrate();
    for (const a of records) await old.attachments.create(a);
    await old.close();

    const upgraded = new SqliteStorage(settings, defaultMigrationsDir());
    try {
      expect(await upgraded.migrate()).toContain('0007_upload_usage');
      expect(await upgraded.attachments.usage(alice)).toBe(3500);
      expect(await upgraded.attachments.usage(bob)).toBe(700);
      await upgraded.attachments.delete([records[0].id]);
      expect(await upgraded.attachments.usage(alice)).toBe(2500);
    } finally {
      await upgraded.close();
    }
  });

  it('Cassandra: its code step counts the attachments stored before it, then follows deletes', async () => {
    await requireCassandra();
    const { records, alice, bob } = uploads();
    const old = new CassandraStorage(cassandraSettings({ keyspace }), {
      migrationsDir: migrationsBefore0007(defaultCassandraMigrationsDir()),
    });
    try {
      await old.migrate();
      // Written as the code before 0007 wrote them: the row and its by-channel entry, no counter.
      for (const a of records) {
        await old.session.execute(
          'write',
          `INSERT INTO attachments (id, channel_id, uploader_id, filename, size, content_type, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [
            BigInt(a.id),
            BigInt(a.channelId),
            BigInt(a.uploaderId),
            a.filename,
            BigInt(a.size),
            a.contentType,
            new Date(a.createdAt),
          ],
          { idempotent: true },
        );
        await old.session.execute(
          'write',
          'INSERT INTO attachments_by_channel (channel_id, id) VALUES (?, ?)',
          [BigInt(a.channelId), BigInt(a.id)],
          { idempotent: true },
        );
      }
    } finally {
      await old.close();
    }

    const upgraded = new CassandraStorage(cassandraSettings({ keyspace }));
    try {
      expect(await upgraded.migrate()).toContain('0007_upload_usage');
      expect(await upgraded.attachments.usage(alice)).toBe(3500);
      expect(await upgraded.attachments.usage(bob)).toBe(700);
      await upgraded.attachments.delete([records[0].id]);
      expect(await upgraded.attachments.usage(alice)).toBe(2500);
      expect(await upgraded.migrate()).toEqual([]);
      expect(await upgraded.attachments.usage(alice)).toBe(2500);
    } finally {
      await upgraded.close();
    }
  });
});
