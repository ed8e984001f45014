#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --only=a,b]`: measures the figures of ../shared/benchmarks.md on this machine.
// The server under test and the load generators are separate processes; latency percentiles come from HDR
// histograms merged across generators; results go to stdout and bench/results/latest.json (+ a dated copy).
import { fork } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerUser, setupGuild, call } from './lib/api.mjs';
import { merge, summary, round, median } from './lib/hist.mjs';
import { ROOT, startMonolith, metricValue, rssOf } from './lib/server.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const scale = quick
  ? {
      seq: 500,
      conc: 2000,
      history: 300,
      delivery: 200,
      fanoutClients: 200,
      fanoutMessages: 50,
      hold: 1000,
      storm: 500,
      persist: 20_000,
      migrate: 50_000,
      repeats: 1,
    }
  : {
      seq: 2000,
      conc: 5000,
      history: 1000,
      delivery: 500,
      fanoutClients: 1000,
      fanoutMessages: 100,
      hold: 5000,
      storm: 10_000,
      persist: 200_000,
      migrate: 300_000,
      repeats: 3,
    };
const DEADLINE = quick ? 60_000 : 300_000;

const figures = [];
const shapes = {};
const notes = [];

function figure(id, name, value, unit, target, pass, extra = {}) {
  figures.push({
    id,
    name,
    value,
    unit,
    target,
    status: pass === null ? 'n/a' : pass ? 'PASS' : 'MISS',
    ...extra,
  });
}

function runJob(job, params, onMessage) {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'bench/lib/loadgen.mjs'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), DEADLINE + 30_000);
    child.on('message', (msg) => {
      if (msg.ready !== undefined) return onMessage?.(msg, child);
      clearTimeout(kill);
      child.kill();
      msg.ok ? resolve(msg.result) : reject(new Error(msg.error));
    });
    child.once('exit', (code) => code && reject(new Error(`loadgen ${job} exited ${code}`)));
    child.send({ job, params });
  });
}

const want = (name) => !only || only.includes(name);

async function users(base, n, prefix) {
  const out = [];
  for (let i = 0; i < n; i += 20)
    out.push(
      ...(await Promise.all(Array.from({ length: Math.min(20, n - i) }, () => registerUser(base, prefix)))),
    );
  return out;
}

async function restShapes() {
  const server = await startMonolith();
  try {
    const base = server.url;
    await new Promise((r) => setTimeout(r, 500));
    const idle = server.rssBytes();
    shapes.memory = { rss_idle_mb: round(idle / 2 ** 20, 1) };
    const team = await users(base, 3, 'rest');
    const { channelId } = await setupGuild(base, team);

    const seq = await runJob('send', {
      base,
      tokens: [team[0].token],
      channelId,
      total: scale.seq,
      concurrency: 1,
      deadlineMs: DEADLINE,
    });
    shapes['send-sequential'] = {
      msgs_per_s: round(seq.sent / seq.seconds, 0),
      ...summary(merge([seq.hist])),
      errors: seq.errors,
    };

    // 20 closed-loop senders split over two generator processes (one process cannot saturate the server).
    const halves = await Promise.all(
      [0, 1].map((k) =>
        runJob('send', {
          base,
          tokens: team.map((u) => u.token),
          channelId,
          total: scale.conc / 2,
          concurrency: 10,
          deadlineMs: DEADLINE,
        }),
      ),
    );
    const sentTotal = halves.reduce((a, h) => a + h.sent, 0);
    const seconds = Math.max(...halves.map((h) => h.seconds));
    const statuses = {};
    for (const h of halves)
      for (const [k, v] of Object.entries(h.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    shapes['send-concurrent'] = {
      msgs_per_s: round(sentTotal / seconds, 0),
      ...summary(merge(halves.map((h) => h.hist))),
      errors: halves.reduce((a, h) => a + h.errors, 0),
      statuses,
    };
    // Figure 3: open-loop sends at 1,000 msg/s (latency counted from when each request was due).
    const rated = await runJob('sendRate', {
      base,
      token: team[0].token,
      channelId,
      rate: 1000,
      total: quick ? 3000 : 10_000,
      deadlineMs: DEADLINE,
    });
    const s = summary(merge([rated.hist]));
    shapes['send-1000-per-s'] = {
      achieved_per_s: round(rated.sent / rated.seconds, 0),
      ...s,
      errors: rated.errors,
    };
    figure(
      3,
      'message send at 1,000 msg/s, API return (SQLite)',
      `p50 ${s.p50_ms} / p95 ${s.p95_ms} / p99 ${s.p99_ms}`,
      'ms',
      'p50<=3 p95<=10 p99<=25',
      s.p50_ms <= 3 && s.p95_ms <= 10 && s.p99_ms <= 25,
      {
        note: 'no idle gateway connections held during this figure yet (target shape has 10,000)',
      },
    );

    const hist = await runJob('history', {
      base,
      token: team[1].token,
      channelId,
      total: scale.history,
      concurrency: 1,
      deadlineMs: DEADLINE,
    });
    shapes.history = {
      req_per_s: round(hist.requests / hist.seconds, 0),
      ...summary(merge([hist.hist])),
      errors: hist.errors,
    };

    // Figure 6: history under a steady background write load from another process.
    const [underLoad] = await Promise.all([
      runJob('history', {
        base,
        token: team[1].token,
        channelId,
        total: scale.history,
        concurrency: 1,
        deadlineMs: DEADLINE,
      }),
      runJob('sendRate', {
        base,
        token: team[2].token,
        channelId,
        rate: 200,
        total: scale.history,
        deadlineMs: DEADLINE,
      }),
    ]);
    const h6 = summary(merge([underLoad.hist]));
    figure(
      6,
      'history fetch (50) under 200 msg/s writes, SQLite',
      `p95 ${h6.p95_ms}`,
      'ms',
      'p95<=5',
      h6.p95_ms <= 5,
    );

    shapes.memory.rss_after_mb = round(server.rssBytes() / 2 ** 20, 1);
    const lag = await metricValue(base, 'nodejs_eventloop_lag_p99_seconds');
    if (lag !== null)
      figure(
        10,
        'event-loop lag p99 (after REST load)',
        round(lag * 1000, 2),
        'ms',
        '<=20',
        lag * 1000 <= 20,
      );
  } finally {
    await server.stop();
  }
}

async function gatewayFigures() {
  const server = await startMonolith();
  try {
    const base = server.url;
    const idle = server.rssBytes();
    figure(2, 'server RSS idle', round(idle / 2 ** 20, 1), 'MB', '<64', idle < 64 * 2 ** 20, {
      anon_mb: round(server.anonBytes() / 2 ** 20, 1),
      note: 'RSS includes the shared, file-backed pages of the node binary; anon_mb is the private part',
    });

    // Delivery (peer shape): 2 listeners, a third user sends 500 sequential messages.
    const team = await users(base, 3, 'dlv');
    const { channelId } = await setupGuild(base, team);
    const d = await runJob('delivery', {
      base,
      senderToken: team[0].token,
      listenerTokens: [team[1].token, team[2].token],
      channelId,
      total: scale.delivery,
      deadlineMs: DEADLINE,
    });
    const ds = summary(merge([d.hist]));
    shapes.delivery = { p50_ms: ds.p50_ms, p95_ms: ds.p95_ms, p99_ms: ds.p99_ms, lost: d.lost, sent: d.sent };

    // 100-member channel: delivery to the last of 99 listeners.
    const hundred = await users(base, 100, 'c100');
    const c100 = await setupGuild(base, hundred);
    const d100 = await runJob('delivery', {
      base,
      senderToken: hundred[0].token,
      listenerTokens: hundred.slice(1).map((u) => u.token),
      channelId: c100.channelId,
      total: Math.min(scale.delivery, 200),
      deadlineMs: DEADLINE,
    });
    const s100 = summary(merge([d100.hist]));
    figure(
      4,
      'delivery to last recipient, 100-member channel',
      `p95 ${s100.p95_ms}`,
      'ms',
      'p95<=15',
      s100.p95_ms <= 15,
      { lost: d100.lost },
    );

    // Fan-out: N listeners in 2 generator processes, a burst of messages; compared with bare socket.io.
    const fan = await users(base, scale.fanoutClients, 'fan');
    const cf = await setupGuild(base, [team[0], ...fan]);
    const parley = await fanout(
      base,
      fan.map((u) => u.token),
      scale.fanoutMessages,
      async () => {
        await Promise.all(
          Array.from({ length: scale.fanoutMessages }, (_, i) =>
            call(base, 'POST', `/channels/${cf.channelId}/messages`, team[0].token, { content: `fan ${i}` }),
          ),
        );
      },
    );
    const bare = await bareFanout(fan.length, scale.fanoutMessages);
    figure(
      5,
      `fan-out deliveries/s, one process (${fan.length} listeners)`,
      round(parley, 0),
      '/s',
      '>=60000',
      parley >= 60_000,
      { bare_socketio_per_s: round(bare, 0) },
    );
    figure(
      '5r',
      'fan-out ratio to bare socket.io',
      round(parley / bare, 2),
      'x',
      '>=0.8',
      parley / bare >= 0.8,
    );

    // Memory per idle connection.
    const holders = await users(base, Math.min(scale.hold, 1000), 'hold');
    const before = server.rssBytes();
    const tokens = [];
    for (let i = 0; i < scale.hold; i++) tokens.push(holders[i % holders.length].token);
    let heldChildren = [];
    const halves = [tokens.slice(0, tokens.length / 2), tokens.slice(tokens.length / 2)];
    const ready = halves.map(
      (part) =>
        new Promise((resolve, reject) => {
          runJob('hold', { base, tokens: part }, (msg, child) => {
            heldChildren.push(child);
            resolve(msg.open);
          }).catch(reject);
        }),
    );
    const open = (await Promise.all(ready)).reduce((a, b) => a + b, 0);
    await new Promise((r) => setTimeout(r, 1500));
    const after = server.rssBytes();
    const perConn = (after - before) / open;
    figure(
      1,
      `RSS per idle gateway connection (${open} held)`,
      round(perConn / 1024, 1),
      'KB',
      '<=24',
      perConn / 1024 <= 24,
      {
        note: quick ? 'quick run: 1,000 connections; the full run holds more' : undefined,
      },
    );
    if (open >= 1000)
      figure(
        2,
        'server RSS at 1,000+ connections',
        round(after / 2 ** 20, 1),
        'MB',
        '<128',
        after < 128 * 2 ** 20,
      );
    for (const c of heldChildren) c.send('close');
  } finally {
    await server.stop();
  }
}

async function reconnectStorm() {
  const server = await startMonolith({ PARLEY__GATEWAY__SESSION_TTL: '120000' });
  try {
    const base = server.url;
    const people = await users(base, Math.min(scale.storm, 1000), 'storm');
    const { channelId } = await setupGuild(base, people);
    const tokens = Array.from({ length: scale.storm }, (_, i) => people[i % people.length].token);
    const messages = 5;
    const parts = [tokens.slice(0, tokens.length / 2), tokens.slice(tokens.length / 2)];
    const children = [];
    const phases = [];
    const done = parts.map((part) =>
      runJob(
        'storm',
        { base, tokens: part, expectMessages: messages, deadlineMs: quick ? 30_000 : 120_000 },
        (msg, child) => {
          if (!children.includes(child)) children.push(child);
          phases.push(msg.phase);
        },
      ),
    );
    const waitPhase = async (phase) => {
      while (phases.filter((p) => p === phase).length < parts.length)
        await new Promise((r) => setTimeout(r, 50));
    };
    await waitPhase('connected');
    for (const c of children) c.send('drop');
    await waitPhase('dropped');
    for (let i = 0; i < messages; i++)
      await call(base, 'POST', `/channels/${channelId}/messages`, people[0].token, {
        content: `storm ${i}`,
        nonce: `storm${i}`,
      });
    for (const c of children) c.send('reconnect');
    const out = await Promise.all(done);
    const hist = merge(out.map((o) => o.hist));
    const resumed = out.reduce((a, o) => a + o.resumed, 0);
    const lost = out.reduce((a, o) => a + o.lost, 0);
    const total = out.reduce((a, o) => a + o.clients, 0);
    const s = summary(hist);
    const within5 = hist.getValueAtPercentile(95) / 1e6;
    figure(
      9,
      `reconnect storm: ${total} clients dropped at once, resumed`,
      `${round((100 * resumed) / total, 1)}% resumed, p95 ${s.p95_ms} ms, ${lost} events lost`,
      '',
      '95% < 5 s, 0 lost',
      resumed / total >= 0.95 && within5 < 5 && lost === 0,
    );
  } finally {
    await server.stop();
  }
}

async function fanout(base, tokens, messages, trigger, bare = false) {
  const half = Math.ceil(tokens.length / 2);
  const parts = [tokens.slice(0, half), tokens.slice(half)];
  const readies = [];
  const results = parts.map((part) =>
    runJob(
      'fanoutListen',
      { base, tokens: part, expected: part.length * messages, deadlineMs: DEADLINE, bare },
      () => readies.push(1),
    ),
  );
  while (readies.length < parts.length) await new Promise((r) => setTimeout(r, 50));
  const start = performance.timeOrigin + performance.now();
  await trigger();
  const out = await Promise.all(results);
  const received = out.reduce((a, r) => a + r.received, 0);
  const last = Math.max(...out.map((r) => r.last));
  return received / ((last - start) / 1000);
}

async function bareFanout(clients, messages) {
  const sample = JSON.stringify({
    id: '1',
    channel_id: '1',
    content: 'fan 0',
    author: { id: '1', username: 'bench' },
  });
  const child = fork(join(ROOT, 'bench/lib/bare-server.mjs'), [], {
    env: { ...process.env, PAYLOAD: sample },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise((r) => child.once('message', (m) => r(m.port)));
  try {
    const base = `http://127.0.0.1:${port}`;
    return await fanout(
      base,
      Array.from({ length: clients }, () => ''),
      messages,
      () => fetch(`${base}/burst?n=${messages}`).then((r) => r.text()),
      true,
    );
  } finally {
    child.kill();
  }
}

async function persistence() {
  const runs = [];
  for (let i = 0; i < scale.repeats; i++) {
    const result = await new Promise((resolve, reject) => {
      const child = fork(join(ROOT, 'bench/scenarios/persist.cjs'), [String(scale.persist)], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.once('message', resolve);
      child.once('exit', (code) => code && reject(new Error(`persist exited ${code}`)));
    });
    runs.push(result);
  }
  const rate = median(runs.map((r) => r.per_s));
  figure(
    7,
    'messages persisted/s, SQLite (group commit, synchronous=NORMAL, WAL, real indexes)',
    round(rate, 0),
    '/s',
    '>=25000',
    rate >= 25_000,
    { runs: runs.map((r) => r.per_s) },
  );
}

/** What a scenario module (`bench/scenarios/<name>.mjs`, exporting `run(ctx)`) gets from the orchestrator. */
const ctx = { quick, scale, DEADLINE, figure, shapes, notes, runJob, users, fanout };
const external = (file) => async () => (await import(`./scenarios/${file}`)).run(ctx);

const started = Date.now();
const scenarios = {
  rest: restShapes,
  gateway: gatewayFigures,
  storm: reconnectStorm,
  persist: persistence,
  microservices: external('microservices.mjs'),
  // Last: these start a local Cassandra node when none answers (and stop it), so it never shares the cores
  // with the scenarios above.
  cassandra: external('cassandra.mjs'),
};
for (const [name, fn] of Object.entries(scenarios)) {
  if (!want(name)) continue;
  process.stderr.write(`bench: ${name}...\n`);
  try {
    await fn();
  } catch (err) {
    notes.push(`${name} failed: ${err.message}`);
    process.stderr.write(`bench: ${name} failed: ${err.stack}\n`);
  }
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const result = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  seconds: round((Date.now() - started) / 1000, 1),
  machine: {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model,
    memory_gb: round(totalmem() / 2 ** 30, 1),
    kernel: release(),
    node: process.version,
  },
  versions: { parley: pkg.version },
  settings: {
    sqlite_synchronous: 'NORMAL (WAL)',
    cassandra:
      'local node(s) of npm run cassandra:up (-Dcassandra.skip_sync=true: no fsync; see figure 8 for commitlog_sync)',
    rate_limits: 'disabled for the run',
    logging: 'warn',
    deployment: 'monolith',
  },
  figures,
  shapes,
  notes,
};
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/latest.json'), JSON.stringify(result, null, 2));
writeFileSync(
  join(ROOT, `bench/results/${result.date.slice(0, 19).replace(/[:T]/g, '-')}-${result.mode}.json`),
  JSON.stringify(result, null, 2),
);

const pad = (s, n) => String(s).padEnd(n);
console.log(
  `\nParley benchmarks (${result.mode}, ${result.machine.cpus} cores, node ${process.version}, ${result.seconds}s)\n`,
);
console.log(pad('#', 4) + pad('figure', 70) + pad('value', 28) + pad('target', 26) + 'status');
for (const f of figures)
  console.log(
    pad(f.id, 4) + pad(f.name, 70) + pad(`${f.value} ${f.unit}`, 28) + pad(f.target, 26) + f.status,
  );
console.log('\npeer-comparable shapes:');
for (const [name, v] of Object.entries(shapes)) console.log(`  ${pad(name, 18)} ${JSON.stringify(v)}`);
if (notes.length) console.log(`\nnotes:\n  ${notes.join('\n  ')}`);
process.exit(0);
