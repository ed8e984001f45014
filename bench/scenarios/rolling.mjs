// `npm run bench -- --only=rolling`: a rolling restart from outside at scale (figure 17) and what a gateway node
// receives from the bus (figure 12), microservices mode: api + 2 gateways over the shared NATS and Redis, one
// SQLite file seeded with one guild (`rollingDistinct` members, sessions spread over them).
//
// Figure 12: a few sessions on gateway 1 only, messages into their channel: MESSAGE_CREATEs each gateway received
// from the bus (`parley_gateway_bus_events_total`) per message; 1.0 for the node with sessions, 0 for the other.
// Figure 17: `rollingSessions` sessions, alternately on the two gateways (generator processes of
// bench/scenarios/rolling-worker.mjs); messages go into the guild's channel every `rollingGapMs` from before until
// after the drain; SIGTERM to gateway 1, whose sessions reconnect to gateway 2 and resume. Reported: sessions
// resumed (and within 5 s of their CLOSE), messages lost and duplicated per session, sequence gaps and repeats,
// full READYs and INVALID_SESSIONs, the victim's time from SIGTERM to exit. Gateway drain settings are the
// defaults (docs/gateway.md).
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pause } from '../../test/support/wait.ts';
import { call } from '../lib/api.mjs';
import { merge, round, summary } from '../lib/hist.mjs';
import { gatewayUrl, openLight } from '../lib/light.mjs';
import { seedDatabase } from '../lib/seed.mjs';
import { ROOT, benchDir, startRole } from '../lib/server.mjs';
import { NATS_URL, REDIS_URL, purgePrefix } from './microservices-purge.mjs';

const WORKER = join(ROOT, 'bench/scenarios/rolling-worker.mjs');
const PER_WORKER = 5000;

export async function run(ctx) {
  const { quick, scale, figure, shapes, notes } = ctx;
  const total = scale.rollingSessions ?? (quick ? 2000 : 10_000);
  const distinct = Math.min(total, scale.rollingDistinct ?? 300);
  const gapMs = scale.rollingGapMs ?? 500;
  const dir = benchDir();
  const seeded = await seedDatabase({ path: join(dir, 'parley.db'), guilds: [{ members: distinct + 1 }] });
  const [owner, ...members] = seeded.guilds[0].members;
  const channelId = seeded.guilds[0].channelId;
  const { env, prefix } = clusterEnv(dir);
  const procs = [];
  const workers = [];
  const onExit = () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    for (const w of workers) w.kill();
  };
  process.on('exit', onExit);
  try {
    procs.push(await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' }));
    const gws = await Promise.all(
      [2, 3].map((id) => startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: String(id) })),
    );
    procs.push(...gws);
    const api = procs[0].url;
    const gateways = gws.map((g) => g.url);

    // Figure 12: sessions on gateway 2 only (the survivor: sessions left behind on the victim would keep it
    // draining until drain.timeout).
    const probe = await interestProbe(api, gateways, 1, owner, members.slice(0, 20), channelId);
    shapes.interest = probe;
    figure(
      12,
      'events received per gateway per delivered event, 2 gateways, sessions on gateway 2 only (gw1 / gw2)',
      `${probe.per_event[0]} / ${probe.per_event[1]}`,
      'events',
      '0 / 1.0',
      probe.per_event[0] === 0 && probe.per_event[1] === 1,
      { note: `${probe.sessions} sessions of one guild on gateway 2, ${probe.messages} messages into it` },
    );

    // Figure 17.
    const plan = Array.from({ length: total }, (_, i) => ({
      token: members[i % distinct].token,
      gateway: i % 2,
    }));
    const n = Math.ceil(total / PER_WORKER);
    const t0 = performance.now();
    for (let k = 0; k < n; k++)
      workers.push(
        spawnWorker({
          gateways,
          victim: 0,
          sessions: plan.filter((_, i) => i % n === k),
          addresses: Array.from({ length: 8 }, (_, j) => `127.0.0.${150 + 8 * k + j}`),
          openRate: 1000 / n,
        }),
      );
    const connected = await Promise.all(workers.map((w) => w.next()));
    const open = connected.reduce((a, c) => a + c.open, 0);
    const ready = summary(merge(connected.map((c) => c.ready_ms)));
    const connectSeconds = (performance.now() - t0) / 1000;
    await pause(2000); // what the connects set off settles before the restart

    const sent = [];
    const sendErrors = {};
    let sending = true;
    const traffic = (async () => {
      for (let i = 0; sending && i < 10_000; i++) {
        const nonce = `roll${i}`;
        const due = performance.now() + gapMs;
        const res = await call(api, 'POST', `/channels/${channelId}/messages`, owner.token, {
          content: `rolling ${i}`,
          nonce,
        }).catch((err) => ({ status: String(err.code ?? err.message) }));
        if (res.status === 200) sent.push(nonce);
        else sendErrors[res.status] = (sendErrors[res.status] ?? 0) + 1;
        const wait = due - performance.now();
        if (wait > 0) await pause(wait);
      }
    })();
    await pause(2 * gapMs);
    const victim = gws[0];
    const termAt = performance.now();
    const exited = new Promise((resolve) =>
      victim.child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })),
    );
    victim.child.kill('SIGTERM');
    const timeout = setTimeout(() => victim.child.kill('SIGKILL'), 60_000);
    const exit = await exited;
    clearTimeout(timeout);
    await pause(2000);
    sending = false;
    await traffic;
    // How the survivor's resumes ended and how its handover requests to the victim went (from its /metrics).
    const survivorMetrics = await metricLines(gateways[1], [
      'parley_gateway_resumes_total',
      'parley_rpc_calls_total{method="gateway.',
    ]).catch((err) => ({ unreadable: String(err?.message ?? err) }));
    const checks = await Promise.all(
      workers.map((w) => w.command({ cmd: 'expect', nonces: sent, waitMs: quick ? 15_000 : 30_000 })),
    );
    const sum = (k) => checks.reduce((a, c) => a + c[k], 0);
    const counts = {};
    for (const c of checks)
      for (const key of ['close_reasons', 'errors'])
        for (const [k, v] of Object.entries(c[key]))
          counts[`${key}: ${k}`] = (counts[`${key}: ${k}`] ?? 0) + v;
    const resume = summary(merge(checks.map((c) => c.resume)));
    const onVictim = sum('on_victim');
    const r = {
      sessions: open,
      connect_seconds: round(connectSeconds, 1),
      ready_ms: { p50: ready.p50_ms, p95: ready.p95_ms, max: ready.max_ms },
      connect_failed: connected.reduce((a, c) => a + c.failed, 0),
      on_victim: onVictim,
      resumed: sum('resumed'),
      resumed_within_5s: sum('resumed_within_5s'),
      resumed_pct: round((100 * sum('resumed')) / Math.max(1, onVictim), 2),
      resumed_within_5s_pct: round((100 * sum('resumed_within_5s')) / Math.max(1, onVictim), 2),
      resume_ms: { p50: resume.p50_ms, p95: resume.p95_ms, p99: resume.p99_ms, max: resume.max_ms },
      messages_sent: sent.length,
      send_errors: sendErrors,
      lost: sum('lost'),
      duplicated: sum('duplicated'),
      full_readies: sum('full_readies'),
      invalid_sessions: sum('invalid_sessions'),
      failed_resumes: sum('failed_resumes'),
      seq_gaps: sum('seq_gaps'),
      seq_repeats: sum('seq_repeats'),
      unexpected_closes: sum('unexpected_closes'),
      counts,
      victim_exit: {
        code: exit.code,
        signal: exit.signal,
        seconds_after_sigterm: round((exit.at - termAt) / 1000, 2),
      },
      survivor_metrics: survivorMetrics,
      load_average: loadavg().map((l) => round(l, 2)),
    };
    shapes.rolling = r;
    const pass =
      r.resumed_within_5s === onVictim && r.lost === 0 && r.duplicated === 0 && r.full_readies === 0;
    figure(
      17,
      `rolling restart: SIGTERM to 1 of 2 gateways, ${open} sessions (${onVictim} on it), messages every ${gapMs} ms`,
      `${r.resumed_within_5s_pct}% resumed < 5 s, ${r.lost} lost, ${r.duplicated} duplicated, ${r.full_readies} full READY`,
      '',
      '100%, 0, 0, 0',
      pass,
      {
        resume_p95_ms: resume.p95_ms,
        messages_sent: sent.length,
        victim_exit_s: r.victim_exit.seconds_after_sigterm,
        seq_gaps: r.seq_gaps,
        invalid_sessions: r.invalid_sessions,
      },
    );
  } catch (err) {
    notes.push(`rolling: ${String(err?.message ?? err).split('\n')[0]}`);
    throw err;
  } finally {
    await Promise.allSettled(workers.map((w) => w.finish()));
    await Promise.allSettled(procs.map((p) => p.stop()));
    process.off('exit', onExit);
    await purgePrefix(prefix);
    await import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true }));
  }
}

/** Starts dist/apps/<app>/src/main.js on loopback. */
/** The samples of `url`'s /metrics whose line starts with one of `prefixes`, as {line: value}. */
async function metricLines(url, prefixes) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = {};
  for (const line of text.split('\n')) {
    if (!prefixes.some((p) => line.startsWith(p))) continue;
    const at = line.lastIndexOf(' ');
    out[line.slice(0, at)] = Number(line.slice(at + 1));
  }
  return out;
}

async function busEvents(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = /^parley_gateway_bus_events_total\{type="MESSAGE_CREATE"\} (\S+)$/m.exec(text);
  return line ? Number(line[1]) : 0;
}

/** Sessions of `members` on gateway `on` only; `messages` sends; bus events per message on each gateway. */
async function interestProbe(api, gateways, on, owner, members, channelId, messages = 20) {
  let received = 0;
  let onDone = null;
  const sockets = await Promise.all(
    members.map((m) =>
      openLight(gatewayUrl(gateways[on]), m.token, {
        onMessage: () => {
          if (++received === members.length * messages) onDone?.();
        },
      }),
    ),
  );
  try {
    const before = await Promise.all(gateways.map(busEvents));
    const all = new Promise((resolve) => (onDone = resolve));
    for (let i = 0; i < messages; i++)
      await call(api, 'POST', `/channels/${channelId}/messages`, owner.token, { content: `probe ${i}` });
    const timer = setTimeout(() => onDone(), 30_000);
    await all;
    clearTimeout(timer);
    const after = await Promise.all(gateways.map(busEvents));
    return {
      sessions: members.length,
      messages,
      delivered: received,
      per_event: after.map((a, i) => round((a - before[i]) / messages, 3)),
    };
  } finally {
    for (const ws of sockets) ws.terminate();
  }
}

/** A rolling worker: `next()` resolves with its next report ('connected', then the answer to `expect`). */
function spawnWorker(params) {
  const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = [];
  let failure = null;
  const done = new Promise((resolve, reject) => {
    child.on('message', (msg) => {
      if (msg.ready !== undefined) return waiting.shift()?.resolve(msg);
      child.kill();
      if (msg.ok) resolve(msg.result);
      else reject((failure = new Error(msg.error)));
    });
    child.once('exit', (code, signal) => {
      const err = new Error(`rolling worker exited ${code ?? signal}`);
      for (const w of waiting.splice(0)) w.reject(err);
      reject(err);
    });
  });
  done.catch(() => {});
  const next = () => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  child.send({ job: 'rolling', params });
  return {
    next,
    command(msg) {
      if (failure || child.exitCode !== null) return Promise.reject(failure ?? new Error('worker gone'));
      const reply = next();
      child.send(msg);
      return reply;
    },
    async finish() {
      if (child.exitCode !== null) return null;
      if (child.connected) child.send({ cmd: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      try {
        return await done;
      } catch {
        return null;
      } finally {
        clearTimeout(timer);
      }
    },
    kill: () => child.kill('SIGKILL'),
  };
}

/**
 * The environment of microservices roles sharing one SQLite file in `dir`, the local NATS and Redis under a
 * prefix of their own (remove it afterwards with `purgePrefix(prefix)`), every port chosen by the system.
 */
export function clusterEnv(dir) {
  const prefix = `bms${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  const env = {
    PARLEY__DATABASE__SQLITE__PATH: join(dir, 'parley.db'),
    PARLEY__STORAGE__LOCAL__PATH: join(dir, 'files'),
    PARLEY__RATE_LIMITS__ENABLED: 'false',
    PARLEY__INSTANCE__DEPLOYMENT_MODE: 'microservices',
    PARLEY__REDIS__URL: REDIS_URL,
    PARLEY__REDIS__KEY_PREFIX: `${prefix}:`,
    PARLEY__NATS__URL: NATS_URL,
    PARLEY__NATS__SUBJECT_PREFIX: prefix,
    PARLEY__MEDIA__SIGNING_SECRET: `${prefix}-0123456789abcdef0123456789abcdef`,
    PARLEY__GATEWAY__PORT: '0',
    PARLEY__MEDIA_PROXY__PORT: '0',
  };
  return { env, prefix };
}
