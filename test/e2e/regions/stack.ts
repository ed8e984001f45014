import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LaunchError, type Launched, compiledMain, launch, runToExit } from '../../support/process';

const ROOT = join(__dirname, '../../..');
const SCRIPTS = join(ROOT, 'scripts/regions');

export const EU = 'eu-west';
export const US = 'us-east';
export type Region = typeof EU | typeof US;
const INDEX: Record<Region, number> = { [EU]: 0, [US]: 1 };
export const REGION_IDS: Record<Region, number> = { [EU]: 1, [US]: 2 };

export interface Endpoints {
  regions: Partial<Record<Region, { api: string; gateway: string }>>;
}

/** Offsets of scripts/regions/common.sh's port table. */
const PORTS = { nats: 0, redis: 4, api: 5, gateway: 6, queue: 7, natsMonitor: 8 } as const;

/**
 * The two-region stack of `npm run regions:up`, started by this test file in a directory of its own, on its
 * own ports, keyspace and NATS prefix, and stopped (with everything it started) by `destroy()`.
 */
export class RegionStack {
  readonly dir = mkdtempSync(join(tmpdir(), 'parley-regions-'));
  readonly keyspace = `regions_t${process.pid}_${randomBytes(2).toString('hex')}`;
  readonly prefix = `rt${randomBytes(3).toString('hex')}`;
  readonly portBase = Number(process.env.PARLEY_TEST_REGIONS_PORT_BASE ?? 17600);
  readonly cassandra: 'cluster' | 'private';
  private readonly extra = new Set<Launched>();

  constructor(private readonly roleEnv: Record<string, string>) {
    this.cassandra = chooseCassandra();
  }

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      ...this.roleEnv,
      PARLEY_REGIONS_DIR: this.dir,
      PARLEY_REGIONS_PORT_BASE: String(this.portBase),
      PARLEY_REGIONS_KEYSPACE: this.keyspace,
      PARLEY_REGIONS_PREFIX: this.prefix,
      PARLEY_REGIONS_CASSANDRA: this.cassandra,
      PARLEY_REGIONS_SKIP_BUILD: '1',
      PARLEY_CASSANDRA_HEAP: process.env.PARLEY_CASSANDRA_HEAP ?? '512m',
    };
  }

  /** `regions:up [regions]`: fails with its output when it cannot start something. */
  async up(...regions: Region[]): Promise<Endpoints> {
    for (const role of ['api', 'gateway', 'queue'])
      if (!existsSync(join(ROOT, `dist/apps/${role}/src/main.js`)))
        throw new Error(
          `dist/apps/${role}/src/main.js is missing: run "npm run build" (npm run test:regions does)`,
        );
    const { code, output } = await run('up.sh', regions, this.env());
    const last = output.trimEnd().split('\n').pop() ?? '';
    if (code !== 0 || !last.startsWith('{'))
      throw new Error(
        `regions:up failed (exit ${code}). The suite starts a two-DC Cassandra cluster (Java 17, the jars of scripts/cassandra/fetch.sh), nats-server and redis-server itself; its output:\n${tail(output, 60)}`,
      );
    return JSON.parse(last) as Endpoints;
  }

  /** `regions:down [regions]`. */
  async down(...regions: Region[]): Promise<void> {
    const { code, output } = await run('down.sh', regions, this.env());
    if (code !== 0) throw new Error(`regions:down failed (exit ${code}):\n${tail(output, 40)}`);
  }

  /** Stops everything (also after a failure), then deletes the stack's directory. */
  async destroy(): Promise<void> {
    await Promise.all([...this.extra].map((p) => p.stop('SIGKILL')));
    if (this.cassandra === 'cluster') await this.dropKeyspace().catch(() => undefined);
    await run('down.sh', [], { ...this.env(), PARLEY_REGIONS_WIPE: '1' });
    rmSync(this.dir, { recursive: true, force: true });
  }

  port(region: Region, what: keyof typeof PORTS): number {
    return this.portBase + 20 * INDEX[region] + PORTS[what];
  }

  /** What a role process of the stack has logged. */
  log(region: Region, role: 'api' | 'gateway' | 'queue'): string {
    return readFileSync(join(this.dir, region, `${role}.log`), 'utf8');
  }

  /** The last lines of every role's log, for a failure's message (destroy() deletes the logs). */
  logTails(lines = 30): string {
    return [EU, US]
      .flatMap((region) =>
        (['api', 'gateway', 'queue'] as const).map((role) => {
          const file = join(this.dir, region, `${role}.log`);
          if (!existsSync(file)) return `--- ${region} ${role}.log: not written ---`;
          return `--- ${region} ${role}.log ---\n${tail(readFileSync(file, 'utf8'), lines)}`;
        }),
      )
      .join('\n');
  }

  /** Nodes of the stack's Cassandra that the stack itself started (the only ones it may stop). */
  ownedNodes(): string[] {
    const file = join(this.dir, 'cassandra.owned');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  }

  hosts(region: Region): string[] {
    const base = this.cassandra === 'private' ? '127.0.1.' : '127.0.0.';
    return region === EU ? [`${base}1`, `${base}2`] : [`${base}3`];
  }

  /** The environment regions:up gives a role of `region` (for extra processes started by a test). */
  roleProcessEnv(region: Region): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PARLEY_CONFIG: `config/region-${region}.json`,
      PARLEY__DATABASE__CASSANDRA__HOSTS: JSON.stringify(this.hosts(region)),
      PARLEY__DATABASE__CASSANDRA__KEYSPACE: this.keyspace,
      PARLEY__DATABASE__CASSANDRA__REPLICATION: '{"dc1":2,"dc2":1}',
      PARLEY__NATS__URL: `nats://127.0.0.1:${this.port(region, 'nats')}`,
      PARLEY__NATS__SUBJECT_PREFIX: this.prefix,
      PARLEY__NATS__JOBS__REPLICAS: '1',
      PARLEY__REDIS__URL: `redis://127.0.0.1:${this.port(region, 'redis')}`,
      PARLEY__SERVER__HOST: '127.0.0.1',
      PARLEY__SERVER__PORT: '0',
      PARLEY__GATEWAY__PORT: '0',
      PARLEY__QUEUE__PORT: '0',
      PARLEY__MEDIA__SIGNING_SECRET: 'a-test-secret-of-at-least-thirty-two-chars',
      PARLEY__STORAGE__LOCAL__PATH: join(this.dir, 'extra-files'),
      ...this.roleEnv,
    };
  }

  /** Starts one more api process and resolves with its exit code and output once it exits or listens. */
  async startExtraApi(env: Record<string, string>): Promise<{ exit: number | null; output: string }> {
    try {
      const api = await launch(compiledMain('api'), env, { label: 'extra api', bareEnv: true });
      this.extra.add(api);
      await api.stop('SIGKILL');
      this.extra.delete(api);
      return { exit: null, output: api.output() };
    } catch (err) {
      if (err instanceof LaunchError) return { exit: err.code, output: err.output };
      throw err;
    }
  }

  private async dropKeyspace(): Promise<void> {
    const { Client } = await import('cassandra-driver');
    const client = new Client({ contactPoints: this.hosts(EU), localDataCenter: 'dc1' });
    try {
      await client.execute(`DROP KEYSPACE IF EXISTS "${this.keyspace}"`);
    } finally {
      await client.shutdown();
    }
  }
}

/**
 * The drill stops the us-east data centre, which only a node the stack started itself may be: the loopback
 * cluster when nothing of it runs (the stack starts it), else a private cluster beside whatever runs.
 */
function chooseCassandra(): 'cluster' | 'private' {
  const wanted = process.env.PARLEY_REGIONS_CASSANDRA;
  if (wanted === 'cluster' || wanted === 'private') return wanted;
  const nodeSh = join(ROOT, 'scripts/cassandra/node.sh');
  const busy = ['single', 'dc1-n1', 'dc1-n2', 'dc2-n1'].filter(
    (name) => spawnSync('bash', [nodeSh, 'status', name], { stdio: 'ignore' }).status === 0,
  );
  return busy.length > 0 ? 'private' : 'cluster';
}

async function run(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  const { code, output } = await runToExit(
    'bash',
    [join(SCRIPTS, script), ...args],
    env as Record<string, string>,
    // A cluster start takes minutes (the suite's own timeout bounds it); the daemons it starts outlive it.
    { bareEnv: true, timeoutMs: 30 * 60_000, until: 'exit' },
  );
  return { code, output };
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export interface StreamState {
  name: string;
  subjects: string[];
  lastSeq: number;
  messages: number;
}

/** The JetStream streams of a region's NATS, from its monitoring port. */
export async function regionStreams(stack: RegionStack, region: Region): Promise<StreamState[]> {
  const res = await fetch(
    `http://127.0.0.1:${stack.port(region, 'natsMonitor')}/jsz?streams=true&config=true`,
  );
  const body = (await res.json()) as {
    config: { domain?: string };
    account_details?: {
      stream_detail?: {
        name: string;
        config: { subjects: string[] };
        state: { last_seq: number; messages: number };
      }[];
    }[];
  };
  if (body.config.domain !== region)
    throw new Error(`${region}'s NATS has JetStream domain ${body.config.domain}`);
  return (body.account_details ?? []).flatMap((a) =>
    (a.stream_detail ?? []).map((s) => ({
      name: s.name,
      subjects: s.config.subjects,
      lastSeq: s.state.last_seq,
      messages: s.state.messages,
    })),
  );
}

/** The region bits of a snowflake (41 bits time, 3 region, 7 node, 12 sequence). */
export function regionOf(id: string): number {
  return Number((BigInt(id) >> 19n) & 7n);
}

/** The node bits of a snowflake. */
export function nodeOf(id: string): number {
  return Number((BigInt(id) >> 12n) & 127n);
}
