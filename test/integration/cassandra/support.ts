import { randomBytes } from 'node:crypto';
import { loadConfig } from '@parley/config';
import type { CassandraSettings } from '@parley/storage';
import { Client } from 'cassandra-driver';
import { compiledMain, launch } from '../../support/process';
import { request } from '../../support/rest';

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

export interface App {
  url: string;
  output: () => string;
  /** SIGTERM to the whole process group; resolves once every process of it is gone, with the exit code. */
  stop(): Promise<number | null>;
  request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T }>;
}

/**
 * Starts Parley as a real process with `env` on top of a minimal environment: the compiled monolith
 * (`node dist/apps/server/src/main.js`), or `npm start` itself when `viaNpm` is set.
 */
export async function startApp(
  env: Record<string, string>,
  options: { viaNpm?: boolean; timeoutMs?: number } = {},
): Promise<App> {
  // PARLEY_TEST_MAIN: another build of the server (e.g. while dist/ is being rebuilt by someone else).
  const main = options.viaNpm ? '' : (process.env.PARLEY_TEST_MAIN ?? compiledMain('server'));
  const app = await launch(
    main,
    { PARLEY__RATE_LIMITS__ENABLED: 'false', ...env },
    {
      label: 'parley',
      ...(options.viaNpm ? { command: 'npm', args: ['start', '--silent'] } : {}),
      timeoutMs: options.timeoutMs ?? 60_000,
      // Its own process group: `npm start` runs the server as a grandchild, so stop() signals the group.
      group: true,
    },
  );
  return {
    url: app.url,
    output: app.output,
    stop: () => app.stop('SIGTERM'),
    request: (method, path, body, token) => request(`${app.url}${path}`, method, { body, token }),
  };
}
