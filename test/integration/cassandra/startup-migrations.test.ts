import { SnowflakeGenerator } from '@parley/common';
import { CassandraStorage, StartupRefused } from '@parley/storage';
import { userRecord } from '@parley/storage/testing';
import { cassandraSettings, dropKeyspace, requireCassandra, testKeyspace } from './support';

/**
 * What a process may do to the schema as it starts (docs/cassandra.md, "Schema changes and upgrades"): create a
 * new keyspace with everything in it, but neither change an existing keyspace's replication nor backfill data in
 * one that holds some. Those are `parley schema migrate`'s (migrate() without atStartup).
 */
jest.setTimeout(300_000);

const keyspace = testKeyspace('parley_startup');

describe('schema changes at process start', () => {
  let storage: CassandraStorage;

  beforeAll(async () => {
    await requireCassandra();
    storage = new CassandraStorage(cassandraSettings({ keyspace }));
  });

  afterAll(async () => {
    await storage?.close();
    await dropKeyspace(keyspace);
  });

  it('creates a new keyspace with every migration, data steps included (there is nothing to backfill)', async () => {
    const applied = await storage.migrate({ atStartup: true });
    expect(applied).toContain('0004_reactions_by_bucket');
    expect(applied.length).toBeGreaterThan(30);
  });

  it('refuses a pending data step on a keyspace that holds data, and `schema migrate` applies it', async () => {
    await storage.users.create(userRecord(new SnowflakeGenerator(0, 7).next()));
    await storage.session.execute(
      'write',
      'DELETE FROM schema_migrations WHERE name = ?',
      ['0004_reactions_by_bucket'],
      {
        idempotent: true,
      },
    );
    const refused = storage.migrate({ atStartup: true });
    await expect(refused).rejects.toBeInstanceOf(StartupRefused);
    await expect(refused).rejects.toThrow(/0004_reactions_by_bucket copies data.*parley schema migrate/);
    expect(await storage.migrate()).toEqual(['0004_reactions_by_bucket']);
    expect(await storage.migrate({ atStartup: true })).toEqual([]);
  });

  it('refuses to change the replication of an existing keyspace and leaves it as it was', async () => {
    const other = new CassandraStorage(cassandraSettings({ keyspace, replication: { dc1: 2 } }));
    try {
      await expect(other.migrate({ atStartup: true })).rejects.toThrow(
        /replication .*a process does not change a keyspace's replication as it starts.*parley schema migrate/,
      );
      const rs = await storage.session.execute(
        'read',
        'SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?',
        [keyspace],
        { idempotent: true },
      );
      expect(rs.first().get('replication')).toMatchObject({ dc1: '1' });
    } finally {
      await other.close();
    }
  });
});
