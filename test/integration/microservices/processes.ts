import { type ChildProcess, spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Launched,
  compiledMain,
  freePort,
  launch,
  portOpen,
  stopAll,
  tempDir as freshDir,
} from '../../support/process';
import { type ParleyConfig, loadConfig } from '@parley/config';
import { TrackedClients } from '../../support/clients';
import { waitFor } from '../../support/wait';

import { SHARED_NATS, SHARED_REDIS, purgePrefix } from '../../support/services';

// The machine's shared Redis and NATS (and cleaning up after a run) live in test/support/services.ts, which the
// benchmarks share.
export { SHARED_NATS, SHARED_REDIS, purgePrefix } from '../../support/services';

export type Role = 'api' | 'gateway' | 'media-proxy' | 'queue';

/** Fails (never skips) with what to start when the machine's Redis or NATS is not there. */
export async function requireSharedServices(): Promise<void> {
  const missing: string[] = [];
  if (!(await portOpen('127.0.0.1', 6379, 1500)))
    missing.push(
      'Redis on 127.0.0.1:6379 (redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no)',
    );
  if (!(await portOpen('127.0.0.1', 4222, 1500)))
    missing.push(
      'NATS with JetStream on 127.0.0.1:4222 (nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server)',
    );
  if (missing.length > 0)
    throw new Error(
      `microservices tests need these services running; start them first:\n  ${missing.join('\n  ')}`,
    );
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: SHARED_NATS, timeout: 3000 });
  try {
    await (await jetstreamManager(nc)).getAccountInfo();
  } catch (err) {
    throw new Error(
      `NATS on 127.0.0.1:4222 answers but JetStream does not (${(err as Error).message}): restart it with -js (nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server)`,
    );
  } finally {
    await nc.close();
  }
}

/** A prefix for NATS subjects, stream names and Redis keys no other run uses. */
export function uniquePrefix(): string {
  return `t${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
}

export interface RoleProcess extends Launched {
  role: Role;
}

/** Starts `dist/apps/<role>/src/main.js` on free loopback ports and waits until it listens. */
export async function startRole(
  role: Role,
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<RoleProcess> {
  const launched = await launch(
    compiledMain(role),
    {
      PARLEY__GATEWAY__PORT: '0',
      PARLEY__MEDIA_PROXY__PORT: '0',
      PARLEY__QUEUE__PORT: '0',
      ...env,
    },
    { label: role, timeoutMs },
  );
  return Object.assign(launched, { role });
}

/** Stops every role process this test file started and has not stopped (afterAll, even after a failure). */
export async function stopAllRoles(): Promise<void> {
  await stopAll('SIGKILL');
}

/**
 * What one suite's cluster runs under: a directory for its SQLite file, a prefix no other run uses, the gateway
 * clients it opens; `cleanUp()` (its afterAll) closes the clients, stops every role process the file started,
 * deletes what it left in the shared NATS and Redis (unless `purge` is false) and the directory.
 */
export function clusterScope() {
  const dir = tempDir();
  const prefix = uniquePrefix();
  const clients = new TrackedClients();
  return {
    dir,
    prefix,
    track: clients.track,
    cleanUp: async ({ purge = true }: { purge?: boolean } = {}): Promise<void> => {
      clients.closeAll();
      await stopAllRoles();
      if (purge) await purgePrefix(prefix);
      dir.remove();
    },
  };
}

/** A private redis-server or nats-server on a loopback port, for tests that kill it. */
export class OwnService {
  private child: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'parley-svc-'));

  private constructor(
    readonly kind: 'redis' | 'nats',
    readonly port: number,
    /** NATS only: the HTTP monitoring port (`/connz`, `/subsz`), when asked for. */
    readonly monitorPort: number | null = null,
  ) {}

  static async start(kind: 'redis' | 'nats', options: { monitor?: boolean } = {}): Promise<OwnService> {
    const monitor = kind === 'nats' && options.monitor ? await freePort() : null;
    const service = new OwnService(kind, await freePort(), monitor);
    await service.up();
    return service;
  }

  get url(): string {
    return `${this.kind}://127.0.0.1:${this.port}`;
  }

  /** Starts it (again, on the same port and, for NATS, the same JetStream store). */
  async up(): Promise<void> {
    const args =
      this.kind === 'redis'
        ? [
            '--bind',
            '127.0.0.1',
            '--port',
            String(this.port),
            '--save',
            '',
            '--appendonly',
            'no',
            '--dir',
            this.dir,
          ]
        : [
            '-a',
            '127.0.0.1',
            '-p',
            String(this.port),
            ...(this.monitorPort ? ['-m', String(this.monitorPort)] : []),
            '-js',
            '-sd',
            this.dir,
          ];
    const bin = this.kind === 'redis' ? '/usr/bin/redis-server' : '/usr/sbin/nats-server';
    if (!existsSync(bin))
      throw new Error(
        `${bin} is missing: apt-get install ${this.kind === 'redis' ? 'redis-server' : 'nats-server'}`,
      );
    const child = spawn(bin, args, { stdio: 'ignore' });
    this.child = child;
    const up = await waitFor(
      async () =>
        child.exitCode !== null ? 'exited' : (await portOpen('127.0.0.1', this.port, 500)) && 'up',
      `${bin} listens on ${this.port}`,
      15_000,
    );
    if (up === 'exited') throw new Error(`${bin} exited with ${child.exitCode}`);
  }

  /** Kills it at once (SIGKILL), as a crash would; `SIGTERM` stops it as a restart does. */
  async kill(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  async remove(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function tempDir(): { path: string; remove: () => void } {
  return freshDir('parley-ms-');
}

/**
 * Microservices-mode configuration for the transports in this process, under `prefix` (NATS subjects and
 * streams, Redis keys), with fast failing jobs; `nats` and `rest` add to it.
 */
export function microservicesConfig(
  prefix: string,
  { nats = {}, ...rest }: { nats?: Record<string, unknown> } & Record<string, unknown> = {},
): ParleyConfig {
  return loadConfig({
    env: {},
    overrides: {
      instance: { deployment_mode: 'microservices' },
      media: { signing_secret: 'x'.repeat(32) },
      nats: { subject_prefix: prefix, ...nats },
      redis: { key_prefix: `${prefix}:` },
      jobs: { max_attempts: 2, concurrency: 2 },
      ...rest,
    },
  });
}

/**
 * A role in this process on a free loopback port (its app kept in `apps`, which the file's afterAll closes);
 * resolves with its URL.
 */
export async function startRoleInProcess(
  role: 'api' | 'gateway',
  config: ParleyConfig,
  apps: import('@nestjs/platform-fastify').NestFastifyApplication[],
): Promise<string> {
  // Loaded here, not at the top: the suites that only spawn role processes never need the whole platform.
  const { RoleModule, createHttpApp, listen } = await import('@parley/platform');
  const app = await createHttpApp(config, RoleModule.forRole(role, config));
  apps.push(app);
  return (await listen(app, config, 0)).url;
}

/** Environment every process of one test cluster shares. */
export function clusterEnv(
  prefix: string,
  dbPath: string,
  services: { redis?: string; nats?: string } = {},
): Record<string, string> {
  return {
    PARLEY__INSTANCE__DEPLOYMENT_MODE: 'microservices',
    PARLEY__DATABASE__SQLITE__PATH: dbPath,
    PARLEY__REDIS__URL: services.redis ?? SHARED_REDIS,
    PARLEY__REDIS__KEY_PREFIX: `${prefix}:`,
    PARLEY__NATS__URL: services.nats ?? SHARED_NATS,
    PARLEY__NATS__SUBJECT_PREFIX: prefix,
    PARLEY__MEDIA__SIGNING_SECRET: `${prefix}-0123456789abcdef0123456789abcdef`,
    // Fast password hashing: the flows, not argon2, are under test.
    PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
  };
}

/** How many messages a channel has in the deployment's SQLite file, read from a separate read-only connection. */
export function storedMessageCount(dbPath: string, channelId: string): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const row = db
      .prepare('SELECT count(*) AS n FROM messages WHERE channel_id = ?')
      .get(BigInt(channelId)) as {
      n: number;
    };
    return row.n;
  } finally {
    db.close();
  }
}

/**
 * Runs `body`; if it fails, the error carries each process's warnings and errors (their JSON log lines at
 * level 40 and above), so a failure in CI says what the servers saw, not only what the test waited for.
 */
export async function withServerLogs(processes: RoleProcess[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const logs = processes
      .map((p, i) => {
        const lines = p
          .output()
          .split('\n')
          .filter((line) => /"level":(4|5|6)\d/.test(line))
          .slice(-30);
        return `--- ${p.role} #${i} (${lines.length} warnings and errors, last 30)\n${lines.join('\n')}`;
      })
      .join('\n');
    if (err instanceof Error) err.message += `\n${logs}`;
    throw err;
  }
}
