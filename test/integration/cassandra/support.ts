import { randomBytes } from 'node:crypto';
import { loadConfig } from '@parley/config';
import type { CassandraSettings } from '@parley/storage';
import { Client } from 'cassandra-driver';

/** The defaults of config/default.json's database.cassandra (127.0.0.1:9042, dc1), with overrides. */
export function cassandraSettings(overrides: Partial<CassandraSettings> = {}): CassandraSettings {
  const base = loadConfig({ env: {} }).database.cassandra;
  return { ...base, request_timeout: 10_000, ...overrides };
}

/** A fresh keyspace name per test file, so runs never see each other's rows. */
export function testKeyspace(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/**
 * Fails (never skips) with what to start when no node answers CQL at `hosts` in data centre `dc`.
 */
export async function requireCassandra(
  hosts: string[] = ['127.0.0.1'],
  dc = 'dc1',
  start = 'npm run cassandra:up',
): Promise<void> {
  const client = new Client({
    contactPoints: hosts,
    localDataCenter: dc,
    socketOptions: { connectTimeout: 3000, readTimeout: 5000 },
  });
  try {
    await client.connect();
    await client.execute('SELECT release_version FROM system.local');
  } catch (err) {
    throw new Error(
      `No Cassandra node answers CQL on ${hosts.join(', ')}:9042 (data centre ${dc}). Start it with \`${start}\` ` +
        `and run the tests again. (${err instanceof Error ? err.message : String(err)})`,
    );
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

export async function dropKeyspace(
  keyspace: string,
  hosts: string[] = ['127.0.0.1'],
  dc = 'dc1',
): Promise<void> {
  const client = new Client({ contactPoints: hosts, localDataCenter: dc });
  try {
    await client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`);
  } finally {
    await client.shutdown();
  }
}
