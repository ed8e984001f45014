import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');
const MAIN = join(ROOT, 'dist/apps/server/src/main.js');

let mode: 'monolith' | 'microservices' = 'monolith';
let backendEnv: Record<string, string> = {};
let startTimeoutMs = 20_000;

/**
 * From now on (in this test file), startServer runs the monolith on Cassandra (the node or cluster answering on
 * 127.0.0.1:9042, data centre dc1) in the given keyspace, which the server creates and migrates at start.
 */
export function useCassandra(keyspace: string): void {
  backendEnv = { PARLEY__DATABASE__BACKEND: 'cassandra', PARLEY__DATABASE__CASSANDRA__KEYSPACE: keyspace };
  // A fresh keyspace's schema waits for every node's agreement: about half a minute on the loopback cluster.
  startTimeoutMs = 120_000;
}

/** The storage backend startServer uses: readiness and metrics name it. */
export function backendName(): 'sqlite' | 'cassandra' {
  return backendEnv.PARLEY__DATABASE__BACKEND === 'cassandra' ? 'cassandra' : 'sqlite';
}

/**
 * From now on (in this test file), startServer starts microservices mode instead of the monolith: api,
 * gateway and queue as separate processes over the machine's NATS and Redis, with the api's URL as the
 * server's. Suites written for the monolith run unchanged against it.
 */
export function useMicroservices(): void {
  mode = 'microservices';
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(prefix = 'parley-e2e-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Starts the compiled monolith (or, after useMicroservices, the split roles) on free loopback ports. */
export async function startServer(
  env: Record<string, string>,
  timeoutMs = startTimeoutMs,
): Promise<ServerProcess> {
  if (mode === 'microservices') return startMicroservices(env);
  env = { ...env, ...backendEnv };
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" (npm test builds first)`);
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PARLEY__SERVER__HOST: '127.0.0.1',
      PARLEY__SERVER__PORT: '0',
      PARLEY__LOGGING__LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (log += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start in ${timeoutMs} ms:\n${log}`)),
      timeoutMs,
    );
    child.stdout.on('data', (chunk: string) => {
      log += chunk;
      const match = /"msg":"parley listening","url":"([^"]+)"/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${log}`));
    });
  });
  return {
    url,
    child,
    output: () => log,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

/** Runs the server expecting it to refuse to start; returns its exit code and stderr. */
export function runFailingServer(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PARLEY__SERVER__PORT: '0',
      PARLEY__SERVER__HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }),
  );
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export class Client {
  token: string | null = null;
  constructor(readonly base: string) {}

  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    init: { raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let payload: string | undefined = init.raw;
    if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${this.base}/api/v1${path}`, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // leave as text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T = any>(path: string, body?: unknown) {
    return this.request<T>('POST', path, body);
  }
  patch<T = any>(path: string, body?: unknown) {
    return this.request<T>('PATCH', path, body);
  }
  put<T = any>(path: string, body?: unknown) {
    return this.request<T>('PUT', path, body);
  }
  delete<T = any>(path: string) {
    return this.request<T>('DELETE', path);
  }

  async register(
    username: string,
    password = 'correct horse battery',
  ): Promise<{ id: string; username: string }> {
    const res = await this.post('/auth/register', { username, email: `${username}@example.test`, password });
    if (res.status !== 201)
      throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    this.token = res.body.token;
    return res.body.user;
  }
}

/** api, gateway and queue processes sharing one SQLite file, NATS and Redis, under a prefix of their own. */
async function startMicroservices(env: Record<string, string>): Promise<ServerProcess> {
  const ms = await import('../integration/microservices/processes');
  await ms.requireSharedServices();
  const prefix = ms.uniquePrefix();
  const shared: Record<string, string> = {
    ...ms.clusterEnv(prefix, env.PARLEY__DATABASE__SQLITE__PATH ?? ''),
    ...env,
  };
  delete shared.PARLEY__AUTH__ARGON2; // the monolith's password hashing, as the suite expects
  const started: import('../integration/microservices/processes').RoleProcess[] = [];
  try {
    started.push(await ms.startRole('api', { ...shared, PARLEY__INSTANCE__NODE_ID: '1' }));
    started.push(
      ...(await Promise.all([
        ms.startRole('gateway', { ...shared, PARLEY__INSTANCE__NODE_ID: '2' }),
        ms.startRole('queue', { ...shared, PARLEY__INSTANCE__NODE_ID: '3' }),
      ])),
    );
  } catch (err) {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await ms.purgePrefix(prefix);
    throw err;
  }
  const [api] = started;
  return {
    url: api.url,
    child: api.child,
    output: () => started.map((p) => `--- ${p.role}\n${p.output()}`).join('\n'),
    stop: async (signal = 'SIGTERM') => {
      const codes = await Promise.all(started.map((p) => p.stop(signal)));
      await ms.purgePrefix(prefix);
      return codes[0];
    },
  };
}
