// Starts the compiled monolith (or any Node entry) as a separate process on loopback and measures it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;

export async function startMonolith(env = {}, { timeoutMs = 30_000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const child = spawn(process.execPath, ['--expose-gc', join(ROOT, 'dist/apps/server/src/main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PARLEY__SERVER__HOST: '127.0.0.1',
      PARLEY__SERVER__PORT: '0',
      PARLEY__LOGGING__LEVEL: 'warn',
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__DATABASE__SQLITE__PATH: join(dir, 'parley.db'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (c) => (log += c));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (c) => {
      log += c;
      const m = /"msg":"parley listening","url":"([^"]+)"/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}:\n${log}`)));
  });
  return {
    url,
    pid: child.pid,
    dir,
    rssBytes: () => rssOf(child.pid),
    anonBytes: () => anonOf(child.pid),
    log: () => log,
    async stop() {
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
