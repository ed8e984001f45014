import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
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

const ROOT = join(__dirname, '../../..');

/**
 * Starts Parley as a real process with `env` on top of a minimal environment: the compiled monolith
 * (`node dist/apps/server/src/main.js`), or `npm start` itself when `viaNpm` is set.
 */
export async function startApp(
  env: Record<string, string>,
  options: { viaNpm?: boolean; timeoutMs?: number } = {},
): Promise<App> {
  // PARLEY_TEST_MAIN: another build of the server (e.g. while dist/ is being rebuilt by someone else).
  const main = process.env.PARLEY_TEST_MAIN ?? join(ROOT, 'dist/apps/server/src/main.js');
  if (!options.viaNpm && !existsSync(main)) throw new Error(`${main} is missing: run "npm run build"`);
  const [command, args] = options.viaNpm ? ['npm', ['start', '--silent']] : [process.execPath, [main]];
  const child: ChildProcess = spawn(command, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PARLEY__SERVER__HOST: '127.0.0.1',
      PARLEY__SERVER__PORT: '0',
      PARLEY__LOGGING__LEVEL: 'warn',
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: `npm start` runs the server as a grandchild, so stop() signals the group.
    detached: true,
  });
  let log = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (log += chunk));
  const timeoutMs = options.timeoutMs ?? 60_000;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      signalGroup(child.pid as number, 'SIGKILL');
      reject(new Error(`parley did not start in ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    child.stdout?.on('data', (chunk: string) => {
      log += chunk;
      const match = /"msg":"parley listening","url":"([^"]+)"/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`parley exited with ${code} before listening:\n${log}`));
    });
  });
  return {
    url,
    output: () => log,
    async stop() {
      const pgid = child.pid as number;
      const exited = new Promise<number | null>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
      });
      signalGroup(pgid, 'SIGTERM');
      const code = await exited;
      // `npm start` dies of the signal at once while the server it started is still draining.
      const deadline = Date.now() + 30_000;
      while (groupAlive(pgid)) {
        if (Date.now() > deadline) {
          signalGroup(pgid, 'SIGKILL');
          throw new Error(`parley did not exit within 30 s of SIGTERM:\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return code;
    },
    async request(method, path, body, token) {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON
      }
      return { status: res.status, body: parsed as any };
    },
  };
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
