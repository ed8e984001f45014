// Starts the compiled monolith (or any Node entry) as a separate process on loopback and measures it.
// Processes start through the tests' launcher (test/support/process.ts, loaded with Node's type stripping).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { launch, liveProcesses, portOpen } from '../../test/support/process.ts';
import { waitFor } from '../../test/support/wait.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;
export { portOpen };

/** Every server still running is killed if the orchestrator exits without stopping it (a crash, a signal). */
process.once('exit', () => {
  for (const { child } of liveProcesses()) child.kill('SIGKILL');
});

/** A fresh directory for a server's database (seed it before `startMonolith(env, {dir})`). */
export function benchDir() {
  return mkdtempSync(join(tmpdir(), 'parley-bench-'));
}

/**
 * Starts `node [nodeArgs] <entry>` (a compiled role such as dist/apps/server/src/main.js) on loopback (a free port,
 * warnings only) plus `env`, and waits for its "parley listening" line; killed at once if it does not start within
 * `timeoutMs`. `log()` is what it wrote on stderr and stdout (the last `logLimit` characters); `stderr: 'inherit'`
 * passes its stderr through instead.
 */
export async function startProcess(
  entry,
  env = {},
  { nodeArgs = [], label = 'server', timeoutMs = 30_000, stderr = 'pipe', logLimit = Infinity } = {},
) {
  const started = await launch(entry, env, { nodeArgs, label, timeoutMs, stderr, logLimit, cwd: ROOT });
  return { child: started.child, url: started.url, log: started.output };
}

/**
 * Starts the compiled monolith on loopback with its database in `dir` (a fresh one unless given). The server runs
 * with --expose-gc and an inspector port of 0 that stays closed until `collectGarbage()` opens it (SIGUSR1), so
 * idle memory is measured without the inspector.
 */
export async function startMonolith(env = {}, { timeoutMs = 30_000, dir = benchDir() } = {}) {
  const { child, url, log } = await startProcess(
    join(ROOT, 'dist/apps/server/src/main.js'),
    {
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__DATABASE__SQLITE__PATH: join(dir, 'parley.db'),
      ...env,
    },
    { nodeArgs: ['--expose-gc', '--inspect-port=127.0.0.1:0'], timeoutMs },
  ).catch((err) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  let inspector = null;
  return {
    url,
    pid: child.pid,
    dir,
    rssBytes: () => rssOf(child.pid),
    anonBytes: () => anonOf(child.pid),
    log,
    fdCount: () => fdCountOf(child.pid),
    nofile: () => nofileOf(child.pid),
    /** Tries to raise the server's descriptor limit (needs CAP_SYS_RESOURCE above the hard limit). */
    raiseNofile: (n) => raiseNofile(child.pid, n),
    /**
     * Full garbage collections in the server (HeapProfiler.collectGarbage over the inspector, opened on first
     * use with SIGUSR1 on a loopback port).
     */
    async collectGarbage(times = 2) {
      inspector ??= await openInspector(child, log);
      for (let i = 0; i < times; i++) await inspector.call('HeapProfiler.collectGarbage');
    },
    async stop() {
      inspector?.close();
      if (child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await done;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function fdCountOf(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** [soft, hard] RLIMIT_NOFILE of a process. */
export function nofileOf(pid) {
  const m = /Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/.exec(
    readFileSync(`/proc/${pid}/limits`, 'utf8'),
  );
  const n = (v) => (v === 'unlimited' ? Infinity : Number(v));
  return m ? [n(m[1]), n(m[2])] : [0, 0];
}

export function raiseNofile(pid, n) {
  const r = spawnSync('prlimit', ['--pid', String(pid), `--nofile=${n}:${n}`], { encoding: 'utf8' });
  return { ok: r.status === 0, error: r.status === 0 ? null : (r.stderr || String(r.error)).trim() };
}

async function openInspector(child, log) {
  const seen = log().length;
  child.kill('SIGUSR1');
  const url = await waitFor(
    () => /Debugger listening on (ws:\/\/\S+)/.exec(log().slice(seen))?.[1],
    'the server opens its inspector after SIGUSR1',
    5_000,
  );
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let id = 0;
  const pending = new Map();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    msg.error ? p.reject(new Error(msg.error.message)) : p.resolve(msg.result);
  });
  return {
    call(method, params = {}) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`inspector ${method} timed out`)), 60_000);
        pending.set(++id, {
          resolve: (v) => (clearTimeout(timer), resolve(v)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        });
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    close: () => ws.close(),
  };
}

/** CPU seconds (user + system) a process has used so far (Linux clock ticks of 1/100 s). */
export function cpuSecondsOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

/** Private (anonymous) resident memory: RSS without the shared, file-backed pages of the node binary. */
export function anonOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

export async function metricValue(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : null;
}

/** A Prometheus histogram of the server's /metrics (no labels): cumulative buckets [le, count], sum, count. */
export async function histogramOf(url, name) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const buckets = [];
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    const bucket = line.startsWith(`${name}_bucket{`) ? /le="([^"]+)"\} (\S+)/.exec(line) : null;
    if (bucket) buckets.push([bucket[1] === '+Inf' ? Infinity : Number(bucket[1]), Number(bucket[2])]);
    else if (line.startsWith(`${name}_sum `)) sum = Number(line.split(' ').pop());
    else if (line.startsWith(`${name}_count `)) count = Number(line.split(' ').pop());
  }
  return { buckets, sum, count };
}

/**
 * What was observed between two readings of a histogram: count, mean and the bucket bounds holding the median
 * and the 95th percentile (upper bounds: a histogram knows no finer).
 */
export function histogramDelta(before, after) {
  const count = after.count - before.count;
  const at = (q) => {
    const want = Math.ceil(q * count);
    for (const [i, [le, n]] of after.buckets.entries())
      if (n - (before.buckets[i]?.[1] ?? 0) >= want) return le;
    return Infinity;
  };
  return { count, mean: count > 0 ? (after.sum - before.sum) / count : null, p50: at(0.5), p95: at(0.95) };
}

/**
 * Starts one compiled role of the microservices mode (`api`, `gateway`, ...) with `env`; `stop()` sends SIGTERM
 * (SIGKILL after 30 s). `PARLEY_BENCH_CPU_PROF=<dir>`: the role writes a V8 CPU profile there when it exits.
 */
export async function startRole(app, env) {
  const main = join(ROOT, `dist/apps/${app}/src/main.js`);
  if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build"`);
  const profDir = process.env.PARLEY_BENCH_CPU_PROF;
  const nodeArgs = profDir
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${profDir}`,
        `--cpu-prof-name=${app}-${env.PARLEY__INSTANCE__NODE_ID}.cpuprofile`,
      ]
    : [];
  const { child, url } = await startProcess(main, env, {
    nodeArgs,
    label: app,
    timeoutMs: 60_000,
    logLimit: 20_000,
  });
  return {
    child,
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await done;
      clearTimeout(timer);
    },
  };
}
