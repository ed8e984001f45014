// `npm run bench -- --only=capacity`: figure 11, how many concurrent users one machine holds under a realistic
// user model (docs/scaling.md, "Capacity under a realistic user model", says where the rates come from).
//
// One monolith on SQLite (the database inside the same process, on the same 2 cores as everything here). Users
// are seeded into guilds of mixed sizes (one of 10,000 members, then 1,000, 200 and 20 member guilds; scaled down
// in --quick), each user in one guild, and shuffled, so every step has the same share of every guild online.
// Load generator processes (bench/scenarios/capacity-worker.mjs, at most `capacityPerWorker` users each) hold the
// users as light gateway sessions and play the user model: connect and READY, then per user and second
// `rates.read` channel reads (history page of 50 + read-state ack), `rates.send` sends (each after a typing
// request), `rates.react` reactions, members of large guilds mostly only reading.
//
// Steps: the user count goes up step by step (sessions are added, nobody reconnects); each step plays the model
// for `capacitySeconds` and is judged on its own window: send p95 <= 50 ms, delivery p95 <= 100 ms, no error (no
// failed request, connect or dropped session). Stepping stops at the first step that misses, at the time bound,
// or at the server's descriptor limit (one descriptor per session; reported when it caps the figure).
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { merge, round, summary } from '../lib/hist.mjs';
import { seedDatabase } from '../lib/seed.mjs';
import {
  ROOT,
  benchDir,
  cpuSecondsOf,
  fdCountOf,
  nofileOf,
  rssOf,
  startMonolith,
  startRole,
} from '../lib/server.mjs';
import { purgePrefix } from './microservices-purge.mjs';
import { clusterEnv } from './rolling.mjs';

const WORKER = join(ROOT, 'bench/scenarios/capacity-worker.mjs');

/**
 * Per connected user and second (docs/scaling.md derives them from Slack's and Discord's public figures, times 3
 * for a busy hour): one send every 5 minutes (each after a typing request), a reaction every 15 minutes, a
 * channel read every 2 minutes.
 */
export const RATES = { send: 1 / 300, react: 1 / 900, read: 1 / 120 };
/** Participation inequality (Nielsen's 90-9-1): in guilds of 1,000 members or more, 1 member in 10 posts. */
export const LURKER_FROM = 1000;
/**
 * Share of a large guild's online members who have it open (and so ask for its typing, docs/gateway.md "Typing in
 * large guilds"): not published anywhere we found; 1 in 5 is our assumption (a member of a 1,000+ member guild is
 * in many guilds and looks at this one a fifth of the time they are online).
 */
const VIEWING_SHARE = 0.2;
/** `gateway.presence_large_threshold`'s default: over it, typing goes only to members who asked. */
const LARGE_GUILD = 250;
export const POSTER_SHARE = 0.1;

/**
 * Guild sizes for `total` users: 10,000 / 5 x 1,000 / 15 x 200 / the rest in guilds of 20 at 20,000 users;
 * scaled down below that, never above (the largest guild stays at 10,000 members; more users mean more small
 * guilds).
 */
export function guildMix(total) {
  const f = Math.min(1, total / 20_000);
  const sizes = [];
  const add = (n, size) => {
    for (let i = 0; i < n; i++) if (size >= 2) sizes.push(size);
  };
  add(1, Math.round(10_000 * f));
  add(5, Math.round(1000 * f));
  add(15, Math.round(200 * f));
  const left = total - sizes.reduce((a, b) => a + b, 0);
  add(Math.floor(left / 20), 20);
  return sizes;
}

function shuffle(list) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

/** Figure 11: the monolith on SQLite. */
export function run(ctx) {
  return measure(ctx, 0);
}

/**
 * Figure 11-2gw (`--only=capacity2`): the same model against the microservices mode on the same machine: api, two
 * gateways and the queue over the local NATS and Redis, one SQLite file. Each gateway fans out to its half of a
 * guild's sessions on its own core; the generators share the cores as in figure 11.
 */
export function runSplit(ctx) {
  return measure(ctx, 2);
}

/** The server side: one monolith, or api + `gateways` gateways + queue; what the step figures read from it. */
async function deploy(dir, gateways) {
  // `PARLEY_BENCH_FANOUT_SLICE_MS`: the servers' gateway.fanout_slice_ms (to compare slice lengths).
  const slice = process.env.PARLEY_BENCH_FANOUT_SLICE_MS;
  const tuning = slice ? { PARLEY__GATEWAY__FANOUT_SLICE_MS: slice } : {};
  if (gateways === 0) {
    const server = await startMonolith(tuning, { dir, timeoutMs: 60_000 });
    const [, hard] = server.nofile();
    return {
      api: server.url,
      gateways: [server.url],
      pids: [server.pid],
      hard,
      fdCap: hard - server.fdCount() - 200,
      stop: () => server.stop(),
    };
  }
  const { env: base, prefix } = clusterEnv(dir);
  const env = { ...base, ...tuning };
  const procs = [];
  const stop = async () => {
    await Promise.allSettled(procs.map((p) => p.stop()));
    await purgePrefix(prefix);
  };
  try {
    procs.push(await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' }));
    for (let k = 0; k < gateways; k++)
      procs.push(await startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: String(2 + k) }));
    procs.push(await startRole('queue', { ...env, PARLEY__INSTANCE__NODE_ID: String(2 + gateways) }));
  } catch (err) {
    await stop();
    throw err;
  }
  const gatewayProcs = procs.slice(1, 1 + gateways);
  const hard = Math.min(...gatewayProcs.map((p) => nofileOf(p.child.pid)[1]));
  return {
    api: procs[0].url,
    gateways: gatewayProcs.map((p) => p.url),
    pids: procs.map((p) => p.child.pid),
    hard,
    // One descriptor per session on the gateway that holds it.
    fdCap: gatewayProcs.reduce((a, p) => a + nofileOf(p.child.pid)[1] - fdCountOf(p.child.pid) - 200, 0),
    stop,
  };
}

async function measure(ctx, gatewayCount) {
  const { quick, scale, figure, shapes, notes } = ctx;
  // `--capacity-steps=2000,5000,..` replaces the default steps.
  const steps = (
    process.argv.find((a) => a.startsWith('--capacity-steps='))?.slice(17) ??
    (quick ? '500,1000,2000' : '2000,5000,10000,15000,20000,25000')
  )
    .split(',')
    .map(Number);
  if (!steps.every((n) => Number.isInteger(n) && n > 0))
    throw new Error('--capacity-steps: positive integers');
  const seconds = scale.capacitySeconds ?? (quick ? 15 : 60);
  const perWorker = scale.capacityPerWorker ?? 5000;
  const bound = Date.now() + (scale.capacityBoundSeconds ?? (quick ? 240 : 1500)) * 1000;
  const maxUsers = Math.max(...steps);

  const dir = benchDir();
  const sizes = guildMix(maxUsers);
  const seeded = await seedDatabase(
    { path: join(dir, 'parley.db'), guilds: sizes.map((members) => ({ members })) },
    { timeoutMs: 600_000 },
  );
  const users = shuffle(
    seeded.guilds.flatMap((g, guild) =>
      g.members.map((m) => ({
        token: m.token,
        channelId: g.channelId,
        guildId: g.guildId,
        guild,
        size: sizes[guild],
        viewing: Math.random() < VIEWING_SHARE,
      })),
    ),
  );
  const server = await deploy(dir, gatewayCount);
  const cpuSeconds = () => server.pids.reduce((a, pid) => a + cpuSecondsOf(pid), 0);
  const workers = [];
  const report = {
    deployment: gatewayCount === 0 ? 'monolith' : `api + ${gatewayCount} gateways + queue`,
    guild_sizes: summariseSizes(sizes),
    rates_per_user_s: RATES,
    steps: [],
  };
  shapes[gatewayCount === 0 ? 'capacity' : `capacity_${gatewayCount}gw`] = report;
  try {
    const { hard, fdCap } = server;
    report.server_nofile_hard = hard;
    // At least one worker per gateway, so every gateway holds its share of every guild.
    const nWorkers = Math.max(server.gateways.length, Math.ceil(Math.min(maxUsers, fdCap) / perWorker));
    // Users round-robin over the workers: each worker's first k users are the step's users of that worker.
    for (let k = 0; k < nWorkers; k++)
      workers.push(
        spawnWorker({
          base: server.api,
          gatewayBase: server.gateways[k % server.gateways.length],
          users: users
            .filter((_, i) => i % nWorkers === k)
            .map(({ token, channelId, guildId, guild, size, viewing }) => ({
              token,
              channelId,
              guildId,
              guild,
              size,
              // Only large guilds send typing to those who ask; in the others everyone gets it anyway.
              viewing: viewing && size > LARGE_GUILD,
            })),
          addresses: Array.from({ length: 8 }, (_, j) => `127.0.0.${100 + 8 * k + j}`),
          rates: RATES,
          lurkerFrom: LURKER_FROM,
          posterShare: POSTER_SHARE,
          openRate: 1000 / nWorkers,
        }),
      );
    await Promise.all(workers.map((w) => w.next()));
    let passed = null;
    for (const wanted of steps) {
      if (Date.now() > bound) {
        notes.push(`capacity: time bound reached before the ${wanted} step`);
        break;
      }
      const target = Math.min(wanted, fdCap);
      const capped = target < wanted;
      const t0 = performance.now();
      const opened = await Promise.all(
        workers.map((w, k) =>
          w.command({ cmd: 'open', upTo: Math.ceil((target - k) / nWorkers), deadlineMs: 300_000 }),
        ),
      );
      const rampSeconds = (performance.now() - t0) / 1000;
      const open = opened.reduce((a, o) => a + o.open, 0);
      // Online members per guild at this step: what one send there should deliver.
      const online = new Array(sizes.length).fill(0);
      for (let i = 0; i < target; i++) online[users[i].guild]++;
      const cpu0 = cpuSeconds();
      const w0 = performance.now();
      const out = await Promise.all(workers.map((w) => w.command({ cmd: 'run', seconds })));
      const cpu = (cpuSeconds() - cpu0) / ((performance.now() - w0) / 1000);
      const step = judge({ wanted, target, capped, open, opened, out, online, seconds, rampSeconds });
      step.server_cpu_cores = round(cpu, 2);
      step.server_rss_mb = round(server.pids.reduce((a, pid) => a + rssOf(pid), 0) / 2 ** 20, 1);
      step.load_average = loadavg().map((l) => round(l, 2));
      report.steps.push(step);
      process.stderr.write(
        `bench: capacity${gatewayCount ? ` (${report.deployment})` : ''} ${target} users: send p95 ${step.send.p95_ms} ms, delivery p95 ${step.delivery.p95_ms} ms, ` +
          `errors ${step.errors_total}, ${step.pass ? 'pass' : 'MISS'}\n`,
      );
      if (step.pass) passed = step;
      if (!step.pass || capped) break;
    }
    const last = report.steps[report.steps.length - 1];
    report.passed_users = passed?.users ?? 0;
    const cappedNote = last?.capped
      ? `; the next step was capped at ${last.target} users by the server's RLIMIT_NOFILE hard limit ` +
        `${hard} (one descriptor per session, the limit could not be raised)`
      : '';
    figure(
      gatewayCount === 0 ? 11 : `11-${gatewayCount}gw`,
      gatewayCount === 0
        ? 'capacity: concurrent users one monolith on SQLite holds under the user model (send p95<=50, delivery p95<=100, no errors)'
        : `capacity: concurrent users ${report.deployment} (microservices, SQLite, one machine) hold under the user model (send p95<=50, delivery p95<=100, no errors)`,
      passed?.users ?? 0,
      'users',
      '>=20000',
      (passed?.users ?? 0) >= 20_000,
      {
        steps: report.steps.map(
          (s) =>
            `${s.users}: send p95 ${s.send.p95_ms}, delivery p95 ${s.delivery.p95_ms}, errors ${s.errors_total}` +
            `, ${s.pass ? 'pass' : 'miss'}`,
        ),
        note:
          `steps of ${seconds} s, ${workers.length} generator process(es) on the same cores; ` +
          `rates per user/s ${JSON.stringify(RATES)}, posters 1 in ${1 / POSTER_SHARE} in guilds of ` +
          `${LURKER_FROM}+ members` +
          cappedNote,
      },
    );
  } finally {
    await Promise.allSettled(workers.map((w) => w.finish()));
    await server.stop();
  }
}

function summariseSizes(sizes) {
  const out = {};
  for (const s of sizes) out[s] = (out[s] ?? 0) + 1;
  return out;
}

/** One step's figures from the workers' answers. */
function judge({ wanted, target, capped, open, opened, out, online, seconds, rampSeconds }) {
  const windows = out.map((o) => o.window);
  const hist = (kind) => summary(merge(windows.map((w) => w.hist[kind])));
  const sum = (f) => windows.reduce((a, w) => a + f(w), 0);
  const errors = {};
  for (const w of windows) for (const [k, v] of Object.entries(w.errors)) errors[k] = (errors[k] ?? 0) + v;
  let expected = 0;
  for (const w of windows)
    for (const [guild, n] of Object.entries(w.sendsByGuild)) expected += n * online[Number(guild)];
  const failed = out.reduce((a, o) => a + o.failed, 0);
  const dropped = out.reduce((a, o) => a + o.dropped, 0);
  const requestErrors = Object.values(errors).reduce((a, b) => a + b, 0);
  const actions = {};
  for (const w of windows) for (const [k, v] of Object.entries(w.actions)) actions[k] = (actions[k] ?? 0) + v;
  const send = hist('send');
  const delivery = hist('delivery');
  const deliveries = sum((w) => w.deliveries);
  const step = {
    users: open,
    wanted,
    target,
    capped,
    ramp_seconds: round(rampSeconds, 1),
    ready: pick(summary(merge(opened.map((o) => o.ready)))),
    per_s: Object.fromEntries(Object.entries(actions).map(([k, v]) => [k, round(v / seconds, 1)])),
    deliveries_per_s: round(deliveries / seconds, 0),
    deliveries_received_of_expected: expected ? round(deliveries / expected, 4) : null,
    send: pick(send),
    delivery: pick(delivery),
    typing: pick(hist('typing')),
    react: pick(hist('react')),
    history: pick(hist('history')),
    ack: pick(hist('ack')),
    errors,
    connect_failed: failed,
    dropped,
    close_reasons: mergeCounts(out.map((o) => o.close_reasons ?? {})),
    errors_total: requestErrors + failed + dropped,
    generator_rss_mb: out.map((o) => o.generator_rss_mb),
  };
  step.pass = step.errors_total === 0 && send.count > 0 && send.p95_ms <= 50 && delivery.p95_ms <= 100;
  return step;
}

function mergeCounts(list) {
  const out = {};
  for (const counts of list) for (const [k, v] of Object.entries(counts)) out[k] = (out[k] ?? 0) + v;
  return out;
}

const pick = (s) => ({
  count: s.count,
  p50_ms: s.p50_ms,
  p95_ms: s.p95_ms,
  p99_ms: s.p99_ms,
  max_ms: s.max_ms,
});

/** A capacity worker driven by commands (answers in order). */
function spawnWorker(params) {
  const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = [];
  let failure = null;
  let result = null;
  const done = new Promise((resolve, reject) => {
    child.on('message', (msg) => {
      if (msg.ready !== undefined) {
        const w = waiting.shift();
        if (msg.failure) w?.reject(new Error(msg.failure));
        else w?.resolve(msg);
        return;
      }
      child.kill();
      if (msg.ok) resolve((result = msg.result));
      else reject((failure = new Error(msg.error)));
    });
    child.once('exit', (code, signal) => {
      const err = new Error(`capacity worker exited ${code ?? signal}`);
      for (const w of waiting.splice(0)) w.reject(err);
      reject(err);
    });
  });
  done.catch(() => {});
  const next = () => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  child.send({ job: 'capacity', params });
  return {
    next,
    command(msg) {
      if (failure || child.exitCode !== null) return Promise.reject(failure ?? new Error('worker gone'));
      const reply = next();
      child.send(msg);
      return reply;
    },
    async finish() {
      if (result) return result;
      if (child.exitCode === null && child.connected) child.send({ cmd: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
