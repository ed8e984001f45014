// The one process launcher and CLI runner of the tests and the benchmarks (bench/ imports this file too, through
// Node's type stripping: erasable TypeScript only, and nothing but node: imports).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The repository. `__dirname` is CommonJS only: loaded as an ES module (bench's type stripping) the module
 * falls back to the working directory, which bench's npm scripts set to the repository too.
 */
export const ROOT = typeof __dirname === 'string' ? join(__dirname, '../..') : process.cwd();

/** What every Parley process of a test starts with: loopback, a free port, warnings only. */
export function baseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    PARLEY__SERVER__HOST: '127.0.0.1',
    PARLEY__SERVER__PORT: '0',
    PARLEY__LOGGING__LEVEL: 'warn',
  };
}

/** A compiled entry point (`dist/apps/<app>/src/main.js`), or a failure that says to build. */
export function compiledMain(app: string): string {
  const main = join(ROOT, `dist/apps/${app}/src/main.js`);
  if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build" (npm test builds first)`);
  return main;
}

export interface LaunchOptions {
  /** Names the process in failures. */
  label?: string;
  /** The program and its arguments (default: this Node running `entry` after `nodeArgs`). */
  command?: string;
  args?: string[];
  nodeArgs?: string[];
  /** `env` as given, without baseEnv() under it. */
  bareEnv?: boolean;
  /** The line on stdout that says it is up; its first group is the `url` (default: Parley's "listening"). */
  ready?: RegExp;
  timeoutMs?: number;
  /** Its own process group (a launcher such as `npm start` runs the server as a grandchild): stop() ends all. */
  group?: boolean;
  /** stdin and stderr (default: ignored and captured). */
  stdin?: 'ignore' | 'pipe';
  stderr?: 'pipe' | 'inherit';
  /** Keep only the last characters of what it wrote. */
  logLimit?: number;
  /** Its working directory (default: the repository). */
  cwd?: string;
  /** SIGKILL this long after stop()'s signal if it is still there. */
  forceAfterMs?: number;
}

export interface Launched {
  label: string;
  url: string;
  child: ChildProcess;
  /** What it wrote on stdout and stderr, interleaved as it arrived. */
  output: () => string;
  /** Sends `signal` (to the whole group with `group`) and resolves with the exit code once it (all of it) is gone. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Failure to start, with the exit code (null: still running, killed) and what the process wrote. */
export class LaunchError extends Error {
  readonly code: number | null;
  readonly output: string;
  constructor(message: string, code: number | null, output: string) {
    super(message);
    this.code = code;
    this.output = output;
  }
}

export const LISTENING = /"msg":"parley listening","url":"([^"]+)"/;

const live = new Set<Launched>();

/** The processes launched and not stopped yet (bench kills them when it exits). */
export function liveProcesses(): Launched[] {
  return [...live];
}

/** Stops every process this module launched and nobody stopped (afterAll, even after a failure). */
export async function stopAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(signal)));
}

/** Starts a process and resolves once it says it is up (`ready` on its stdout). */
export async function launch(
  entry: string,
  env: Record<string, string>,
  options: LaunchOptions = {},
): Promise<Launched> {
  const label = options.label ?? entry;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const ready = options.ready ?? LISTENING;
  const command = options.command ?? process.execPath;
  const args = options.args ?? [...(options.nodeArgs ?? []), entry];
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.bareEnv ? env : { ...baseEnv(), ...env },
    stdio: [options.stdin ?? 'ignore', 'pipe', options.stderr ?? 'pipe'],
    detached: options.group ?? false,
  });
  const limit = options.logLimit ?? Infinity;
  let log = '';
  const append = (chunk: string) => {
    log += chunk;
    if (log.length > limit) log = log.slice(-limit);
  };
  child.stdout!.setEncoding('utf8').on('data', append);
  child.stderr?.setEncoding('utf8').on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const signal = (sig: NodeJS.Signals) => {
    if (options.group) signalGroup(child.pid!, sig);
    else if (!gone()) child.kill(sig);
  };

  const launched: Launched = {
    label,
    url: '',
    child,
    output: () => log,
    stop: async (sig: NodeJS.Signals = 'SIGTERM') => {
      live.delete(launched);
      if (!options.group && gone()) return child.exitCode;
      const force = setTimeout(() => signal('SIGKILL'), options.forceAfterMs ?? 30_000);
      signal(sig);
      const code = await exited;
      try {
        // A group leader such as `npm start` dies of the signal at once while its server is still draining.
        if (options.group) await waitForGroupExit(child.pid!, options.forceAfterMs ?? 30_000, label, log);
      } finally {
        clearTimeout(force);
      }
      return code;
    },
  };
  live.add(launched);

  let out = '';
  launched.url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      signal('SIGKILL');
      reject(new LaunchError(`${label} did not start in ${timeoutMs} ms:\n${log}`, null, log));
    }, timeoutMs);
    const onData = (chunk: string) => {
      out += chunk;
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(match[1] ?? match[0]);
      } else if (out.length > 100_000) out = out.slice(-10_000);
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new LaunchError(`${label} exited with ${code} before it was up:\n${log}`, code, log));
    });
  }).catch(async (err: unknown) => {
    await launched.stop('SIGKILL');
    throw err;
  });
  return launched;
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

async function waitForGroupExit(pgid: number, deadlineMs: number, label: string, log: string): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) {
      signalGroup(pgid, 'SIGKILL');
      throw new Error(`${label} did not exit within ${deadlineMs} ms of its signal:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
}

/**
 * Runs a program to its end and resolves with its exit code and output (never rejects on a non-zero exit: the
 * test asserts it). Killed after `timeoutMs` when given; otherwise the test's own timeout bounds it.
 */
export function runToExit(
  command: string,
  args: string[],
  env: Record<string, string>,
  options: {
    timeoutMs?: number;
    bareEnv?: boolean;
    onStart?: (child: ChildProcess) => void;
    /**
     * 'close' (the default) also waits for its output to end; 'exit' does not, for a script that leaves
     * daemons behind which may hold its stdout open.
     */
    until?: 'close' | 'exit';
  } = {},
): Promise<Finished> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: options.bareEnv ? env : { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onStart?.(child);
  let stdout = '';
  let stderr = '';
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => ((stdout += c), (output += c)));
  child.stderr.setEncoding('utf8').on('data', (c: string) => ((stderr += c), (output += c)));
  const timer =
    options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => (clearTimeout(timer), reject(err)));
    child.once(options.until ?? 'close', (code: number | null) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output });
    });
  });
}

/** `npx parley <args>` as the operator runs it (scripts/parley), with `env` (a test's database settings). */
export function parleyCli(
  args: string[],
  env: Record<string, string> = {},
  options: { onStart?: (child: ChildProcess) => void; timeoutMs?: number } = {},
): Promise<Finished> {
  return runToExit(
    join(ROOT, 'scripts/parley'),
    args,
    { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    { ...options, bareEnv: true },
  );
}

/** Whether something accepts a TCP connection on host:port within `timeoutMs`. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A fresh directory under the system's temporary one, and how to remove it. */
export function tempDir(prefix = 'parley-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}
