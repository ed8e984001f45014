#!/usr/bin/env node
// `npm run bench:profile -- <send|send-rate|history|fanout|unfurl> [--out=DIR]`: runs one load shape against a monolith
// started with `--cpu-prof`, then prints where the server's CPU went: by package, by function (self time) and
// the Parley frames by inclusive time. The .cpuprofile is kept (open it in Chrome DevTools or speedscope).
// Bounded: every shape has a fixed count and a deadline.
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerUser, setupGuild, call } from './lib/api.mjs';
import { merge, summary } from './lib/hist.mjs';
import { waitFor } from '../test/support/wait.ts';
import { ROOT, startProcess } from './lib/server.mjs';

const args = process.argv.slice(2);
const shape = args.find((a) => !a.startsWith('--')) ?? 'send';
const outDir =
  args.find((a) => a.startsWith('--out='))?.slice(6) ?? mkdtempSync(join(tmpdir(), 'parley-prof-'));
const SHAPES = ['send', 'send-rate', 'history', 'fanout', 'unfurl'];
if (!SHAPES.includes(shape)) {
  console.error(`usage: npm run bench:profile -- <${SHAPES.join('|')}> [--out=DIR]`);
  process.exit(2);
}

/** The monolith with `--cpu-prof`; its stderr goes to ours. */
function startServer(dbDir, env = {}) {
  return startProcess(
    join(ROOT, 'dist/apps/server/src/main.js'),
    {
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__DATABASE__SQLITE__PATH: join(dbDir, 'parley.db'),
      ...env,
    },
    { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${outDir}`], stderr: 'inherit' },
  );
}

/** One load generator job (bench/lib/loadgen.mjs) in its own process. */
function job(name, params) {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'bench/lib/loadgen.mjs'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('message', (msg) => {
      if (msg.ready !== undefined) return;
      clearTimeout(kill);
      child.kill();
      msg.ok ? resolve(msg.result) : reject(new Error(msg.error));
    });
    child.send({ job: name, params });
  });
}

/** socket.io listeners in a child process of their own; resolves once `expected` MESSAGE_CREATEs arrived. */
function listeners(base, token, count, expected) {
  const child = fork(new URL(import.meta.url).pathname, ['--listen'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = new Promise((r) => child.once('message', r));
  const done = ready.then(() => new Promise((r) => child.once('message', r)));
  child.send({ base, token, count, expected });
  return { ready, done, stop: () => child.kill() };
}

if (args.includes('--listen')) {
  const { io } = await import('socket.io-client');
  process.once('message', async ({ base, token, count, expected }) => {
    let ready = 0;
    let got = 0;
    setTimeout(() => process.exit(1), 120_000).unref();
    for (let i = 0; i < count; i++) {
      const s = io(base, {
        path: '/gateway',
        transports: ['websocket'],
        auth: { token },
        reconnection: false,
      });
      s.on('READY', () => ++ready === count && process.send('ready'));
      s.on('MESSAGE_CREATE', () => ++got === expected && process.send('done'));
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 100));
    }
  });
} else {
  await main();
}

async function main() {
  const dbDir = mkdtempSync(join(tmpdir(), 'parley-prof-db-'));
  let server;
  // `unfurl`: sequential sends, each linking a page of its own on a local site (allowed as a private host), so
  // every one is a cache miss and a real fetch by the job in the same process; waits until all were fetched.
  let pages = 0;
  const site =
    shape === 'unfurl'
      ? createServer((req, res) => {
          pages++;
          res
            .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
            .end(
              `<head><meta property="og:title" content="Page ${req.url}"></head><body>${'<p>x</p>'.repeat(200)}`,
            );
        })
      : null;
  if (site) await new Promise((r) => site.listen(0, '127.0.0.1', r));
  try {
    server = await startServer(
      dbDir,
      site ? { PARLEY__UNFURL__ALLOW_PRIVATE_HOSTS: '["127.0.0.1"]', PARLEY__LOGGING__LEVEL: 'warn' } : {},
    );
    const base = server.url;
    const team = [];
    for (let i = 0; i < 3; i++) team.push(await registerUser(base, 'prof'));
    const { channelId } = await setupGuild(base, team);
    const tokens = team.map((u) => u.token);
    const deadlineMs = 60_000;
    let result;
    if (shape === 'send')
      result = await job('send', { base, tokens, channelId, total: 6000, concurrency: 20, deadlineMs });
    else if (shape === 'send-rate')
      result = await job('sendRate', {
        base,
        token: tokens[0],
        channelId,
        rate: 1000,
        total: 8000,
        deadlineMs,
      });
    else if (shape === 'unfurl') {
      const total = 2000;
      const content = `see http://127.0.0.1:${site.address().port}/p/{i} for details`;
      result = await job('send', { base, tokens, channelId, total, concurrency: 1, deadlineMs, content });
      const t0 = Date.now();
      await waitFor(() => pages >= total, `${total} pages fetched`, deadlineMs);
      console.log(`unfurl: ${pages} pages fetched, the last ${Date.now() - t0} ms after the last send`);
    } else if (shape === 'history') {
      await job('send', { base, tokens, channelId, total: 500, concurrency: 4, deadlineMs });
      result = await job('history', {
        base,
        token: tokens[1],
        channelId,
        total: 3000,
        concurrency: 1,
        deadlineMs,
      });
    } else {
      const perChild = 500;
      const messages = 200;
      const groups = [0, 1].map(() => listeners(base, tokens[1], perChild, perChild * messages));
      await Promise.all(groups.map((g) => g.ready));
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: messages }, (_, i) =>
          call(base, 'POST', `/channels/${channelId}/messages`, tokens[0], { content: `fan ${i}` }),
        ),
      );
      await Promise.all(groups.map((g) => g.done));
      const seconds = (performance.now() - t0) / 1000;
      for (const g of groups) g.stop();
      console.log(`fan-out: ${2 * perChild * messages} deliveries in ${seconds.toFixed(2)} s`);
    }
    if (result) {
      const count = result.sent ?? result.requests;
      console.log(
        `${shape}: ${count} requests in ${result.seconds.toFixed(2)} s; latency ${JSON.stringify(summary(merge([result.hist])))}`,
      );
    }
    const stat = readFileSync(`/proc/${server.child.pid}/stat`, 'utf8').split(' ');
    console.log(`server CPU (user+system, whole life): ${(Number(stat[13]) + Number(stat[14])) / 100} s`);
  } finally {
    const child = server?.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM'); // it writes its .cpuprofile on the way out
      await exited;
    }
    rmSync(dbDir, { recursive: true, force: true });
    site?.close();
  }
  report(
    join(
      outDir,
      readdirSync(outDir).find((f) => f.endsWith('.cpuprofile')),
    ),
  );
}

/** Self and inclusive time per function and self time per package, from a V8 .cpuprofile. */
function report(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const timeOf = new Map();
  profile.samples.forEach((id, i) => timeOf.set(id, (timeOf.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...timeOf.values()].reduce((a, b) => a + b, 0);
  const where = (n) => {
    const url = n.callFrame.url;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    if (pkg) return pkg;
    if (url.includes('/dist/')) return `parley:${url.split('/dist/')[1].split('/').slice(0, 2).join('/')}`;
    if (url.startsWith('node:')) return url;
    return n.callFrame.functionName || '(native)';
  };
  const name = (n) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber + 1}`;
  const self = new Map();
  const byPackage = new Map();
  const inclusive = new Map();
  const add = (m, k, t) => m.set(k, (m.get(k) ?? 0) + t);
  for (const [id, t] of timeOf) {
    const n = nodes.get(id);
    add(self, name(n), t);
    add(byPackage, where(n), t);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const c = nodes.get(cur);
      if (!c.callFrame.url.includes('/dist/')) continue;
      const k = name(c);
      if (!seen.has(k)) (add(inclusive, k, t), seen.add(k));
    }
  }
  const top = (m, n) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => `  ${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  console.log(`\nprofile: ${file} (${(total / 1e6).toFixed(2)} s sampled)`);
  console.log(`\nself time by package:\n${top(byPackage, 20)}`);
  console.log(`\nself time by function:\n${top(self, 25)}`);
  console.log(`\ninclusive time, Parley functions:\n${top(inclusive, 25)}`);
}
