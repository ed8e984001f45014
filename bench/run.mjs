#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --only=a,b] [-- --scale=key=n,..] [-- --capacity-steps=n,..]`: measures the
// figures of ../shared/benchmarks.md on this machine.
// The server under test and the load generators are separate processes; latency percentiles come from HDR
// histograms merged across generators; results go to stdout and bench/results/latest.json (+ a dated copy).
import { pause, waitFor } from '../test/support/wait.ts';
import { fork } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerUser, setupGuild, call } from './lib/api.mjs';
import { merge, summary, round, median, shapeOf } from './lib/hist.mjs';
import { ROOT, startMonolith, metricValue, rssOf, benchDir } from './lib/server.mjs';
import { seedDatabase } from './lib/seed.mjs';
import { startHolders } from './lib/holders.mjs';

// On a signal, exit through process.exit so the 'exit' hooks stop every server still running (forked load
// generators exit by themselves when the orchestrator's IPC channel closes).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping\n`);
    process.exit(130);
  });

// A rejection nobody awaited (a generator failing while its scenario waits on another) is recorded, not fatal:
// the other scenarios still run and the results are still written.
process.on('unhandledRejection', (err) => {
  notes.push(`unhandled: ${String(err?.message ?? err).slice(0, 200)}`);
  process.stderr.write(`bench: unhandled rejection: ${err?.stack ?? err}\n`);
});

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
      discordListeners: 200,
      discordMessages: 20,
      discordLatencyMessages: 30,
      discordLatencyGapMs: 200,
      discordClientProcesses: 2,
      discordCompare: 1,
      hold: 1000,
      conns: 5000,
      connRepeats: 1,
      fig3Held: 2000,
      fig3Listeners: 10,
      fig3Crowd: 0,
      fig3Total: 3000,
      fig3Repeats: 1,
      bigMembers: 1000,
      bigListeners: 1000,
      bigDistinct: 250,
      bigMessages: 50,
      storm: 500,
      persist: 20_000,
      migrate: 50_000,
      searchSqlite: 100_000,
      searchCassandra: 20_000,
      searchStorage: 1,
      searchCompactionWaitS: 120,
      searchApiRounds: 3,
      searchApiRoundSeconds: 6,
      searchApiHighRate: 0,
      reactionsViral: 2000,
      unfurlSends: 300,
      capacitySeconds: 15,
      capacityPerWorker: 5000,
      capacityBoundSeconds: 240,
      rollingSessions: 2000,
      rollingDistinct: 300,
      rollingGapMs: 500,
      scaleMembers: 5000,
      scaleMessages: 250_000,
      scaleReactions: 5000,
      scaleGuilds: 100,
      scaleChannels: 50,
      scaleBudgetS: 900,
      scaleCassandra: 1,
      scaleSqlite: 1,
      scaleHistorySamples: 200,
      scaleHistoryWarmup: 50,
      scaleHistoryWarmupS: 30,
      scaleCompactionWaitS: 300,
      scalePurge: 1,
      scalePurgeBudgetS: 600,
      scaleVerifyS: 900,
      repeats: 1,
    }
  : {
      seq: 2000,
      conc: 5000,
      history: 1000,
      delivery: 500,
      fanoutClients: 1000,
      fanoutMessages: 100,
      discordListeners: 1000,
      discordMessages: 50,
      discordLatencyMessages: 100,
      discordLatencyGapMs: 500,
      discordClientProcesses: 2,
      discordCompare: 1,
      hold: 5000,
      conns: 50_000,
      connRepeats: 3,
      fig3Held: 10_000,
      fig3Listeners: 10,
      fig3Crowd: 100,
      fig3Total: 10_000,
      fig3Repeats: 3,
      bigMembers: 10_000,
      bigListeners: 10_000,
      bigDistinct: 1000,
      bigMessages: 200,
      storm: 10_000,
      persist: 200_000,
      migrate: 300_000,
      searchSqlite: 1_000_000,
      searchCassandra: 1_000_000,
      searchStorage: 1,
      searchCompactionWaitS: 900,
      searchApiRounds: 5,
      searchApiRoundSeconds: 10,
      searchApiHighRate: 0,
      reactionsViral: 100_000,
      unfurlSends: 1000,
      capacitySeconds: 60,
      capacityPerWorker: 5000,
      capacityBoundSeconds: 1500,
      rollingSessions: 10_000,
      rollingDistinct: 300,
      rollingGapMs: 500,
      scaleMembers: 100_000,
      scaleMessages: 5_000_000,
      scaleReactions: 100_000,
      scaleGuilds: 100,
      scaleChannels: 50,
      scaleBudgetS: 3600,
      scaleCassandra: 1,
      scaleSqlite: 1,
      scaleHistorySamples: 200,
      scaleHistoryWarmup: 50,
      scaleHistoryWarmupS: 30,
      scaleCompactionWaitS: 900,
      scalePurge: 1,
      scalePurgeBudgetS: 3600,
      scaleVerifyS: 3600,
      repeats: 3,
    };
// `--scale=conns=20000,connRepeats=1`: override sizes of the chosen mode (numbers only).
for (const pair of args
  .find((a) => a.startsWith('--scale='))
  ?.slice(8)
  .split(',') ?? []) {
  const [key, value] = pair.split('=');
  if (!(key in scale) || !Number.isFinite(Number(value))) throw new Error(`--scale: unknown ${pair}`);
  scale[key] = Number(value);
}
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
    const kill = setTimeout(() => child.kill('SIGKILL'), Math.max(DEADLINE, params.deadlineMs ?? 0) + 30_000);
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

/** Runs loadgen `job` ('send' or 'history') with one client, records its shape as `shapes[name]`, returns it. */
async function recordShape(name, job, { base, token, channelId, total }) {
  const client = job === 'send' ? { tokens: [token] } : { token };
  const result = await runJob(job, {
    base,
    ...client,
    channelId,
    total,
    concurrency: 1,
    deadlineMs: DEADLINE,
  });
  shapes[name] = shapeOf(result);
  return result;
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
  // Seeded before the server opens the file: idle users whose sessions are held during figure 3, and the guild
  // figure 3 sends into (its owner sends, the other members listen).
  const dir = benchDir();
  const seeded = await seedDatabase({
    path: join(dir, 'parley.db'),
    idleUsers: 1000,
    guilds: [{ members: Math.max(scale.fig3Listeners, scale.fig3Crowd) + 1 }],
  });
  const server = await startMonolith({}, { dir });
  try {
    const base = server.url;
    await pause(500); // the started server settles before its idle memory is read
    const idle = server.rssBytes();
    shapes.memory = { rss_idle_mb: round(idle / 2 ** 20, 1) };
    const team = await users(base, 3, 'rest');
    const { channelId } = await setupGuild(base, team);

    // Reading the lag metrics resets the server's event-loop delay histogram: figure 10 then covers the REST
    // shapes below, not the start-up (module loading, migrations) nor the user registrations.
    await metricValue(base, 'nodejs_eventloop_lag_p99_seconds');
    await recordShape('send-sequential', 'send', { base, token: team[0].token, channelId, total: scale.seq });

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
    await recordShape('history', 'history', { base, token: team[1].token, channelId, total: scale.history });

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
        'event-loop lag p99 during the REST shapes (sends, history, figure 6)',
        round(lag * 1000, 2),
        'ms',
        '<=20',
        lag * 1000 <= 20,
      );

    await figure3(server, seeded);
  } finally {
    await server.stop();
  }
}

/**
 * Figure 3: open-loop sends at 1,000 msg/s into a guild channel, API return time counted from when each request
 * was due. First with no gateway connection (a shape), then with `fig3Held` light sessions held: `fig3Listeners`
 * of the channel's members listening (each message is delivered to them) plus idle sessions of users outside the
 * guild. Median of repeats. Then (full run) a shape with `fig3Crowd` members listening: 100 listeners at
 * 1,000 msg/s are 100,000 deliveries/s, beyond one process's fan-out, so that shape measures saturation.
 */
async function figure3(server, seeded) {
  const base = server.url;
  const g = seeded.guilds[0];
  const [sender, ...members] = g.members;
  const listeners = members.slice(0, scale.fig3Listeners);
  const rateRun = async (repeats = scale.fig3Repeats, total = scale.fig3Total) => {
    const runs = [];
    for (let i = 0; i < repeats; i++)
      runs.push(
        await runJob('sendRate', {
          base,
          token: sender.token,
          channelId: g.channelId,
          rate: 1000,
          total,
          deadlineMs: DEADLINE,
        }),
      );
    const each = runs.map((r) => ({
      achieved_per_s: round(r.sent / r.seconds, 0),
      ...summary(merge([r.hist])),
      errors: r.errors,
    }));
    const med = (k) => median(each.map((e) => e[k]));
    return {
      achieved_per_s: med('achieved_per_s'),
      p50_ms: med('p50_ms'),
      p95_ms: med('p95_ms'),
      p99_ms: med('p99_ms'),
      errors: each.reduce((a, e) => a + e.errors, 0),
      sent: runs.reduce((a, r) => a + r.sent, 0),
      runs: each,
    };
  };
  const bare = await rateRun();
  shapes['send-1000-per-s'] = { ...bare, held_connections: 0 };

  const idleTokens = Array.from(
    { length: Math.max(0, scale.fig3Held - listeners.length) },
    (_, i) => seeded.idle[i % seeded.idle.length].token,
  );
  // Listeners first, so they are spread over the generators with the idle sessions.
  const tokens = [...listeners.map((u) => u.token), ...idleTokens];
  const holders = await startHolders(base, tokens, { lifetimeMs: DEADLINE * 3 + 120_000 });
  try {
    const ramp = await holders.openUpTo(tokens.length, 120_000);
    const connected = await metricValue(base, 'parley_gateway_connected_sockets');
    await pause(1000); // what the ramp caused (presence to guild-mates) settles before the rate is measured
    const held = await rateRun();
    const after = await holders.stats();
    const s = held;
    shapes['send-1000-per-s-held'] = {
      ...s,
      held_connections: connected,
      listening_in_channel: listeners.length,
      deliveries_expected: s.sent * listeners.length,
      deliveries_received: after.received,
      ramp_seconds: round(ramp.seconds, 1),
      failed: ramp.failed,
      dropped: after.dropped,
      generator_rss_mb: after.generator_rss_mb,
    };
    figure(
      3,
      `message send at 1,000 msg/s, API return (SQLite), ${connected} gateway connections held`,
      `p50 ${s.p50_ms} / p95 ${s.p95_ms} / p99 ${s.p99_ms}`,
      'ms',
      'p50<=3 p95<=10 p99<=25',
      s.p50_ms <= 3 && s.p95_ms <= 10 && s.p99_ms <= 25,
      {
        note:
          `${listeners.length} of the held sessions are the channel's members (each message is delivered to them), ` +
          `the rest idle users outside the guild; median of ${scale.fig3Repeats} run(s) of ${scale.fig3Total}; ` +
          `without connections: p50 ${bare.p50_ms} / p95 ${bare.p95_ms} / p99 ${bare.p99_ms} ms` +
          (connected < 10_000 ? '; fewer than the 10,000 connections of the target shape (quick run)' : ''),
      },
    );
    if (scale.fig3Crowd > listeners.length) {
      const more = members.slice(listeners.length, scale.fig3Crowd).map((u) => u.token);
      const crowd = await startHolders(base, more, { lifetimeMs: DEADLINE + 60_000 });
      try {
        await crowd.openUpTo(more.length, 60_000);
        const before = (await holders.stats()).received + (await crowd.stats()).received;
        const r = await rateRun(1, Math.min(scale.fig3Total, 2000));
        const received = (await holders.stats()).received + (await crowd.stats()).received - before;
        shapes['send-1000-per-s-held-crowd'] = {
          ...r,
          held_connections: await metricValue(base, 'parley_gateway_connected_sockets'),
          listening_in_channel: scale.fig3Crowd,
          deliveries_expected: r.sent * scale.fig3Crowd,
          deliveries_received: received,
        };
      } finally {
        await crowd.close();
      }
    }
  } finally {
    await holders.close();
  }
}

async function gatewayFigures() {
  const server = await startMonolith();
  try {
    const base = server.url;
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
    let sent = null;
    const parley = await fanout(
      base,
      fan.map((u) => u.token),
      scale.fanoutMessages,
      async () => {
        const answers = await Promise.all(
          Array.from({ length: scale.fanoutMessages }, (_, i) =>
            call(base, 'POST', `/channels/${cf.channelId}/messages`, team[0].token, { content: `fan ${i}` }),
          ),
        );
        sent = answers[0].body;
      },
    );
    // The baseline emits the very message Parley delivered (the POST answer is MESSAGE_CREATE's `d`).
    const bare = await bareFanout(fan.length, scale.fanoutMessages, sent);
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
  } finally {
    await server.stop();
  }
}

const mb = (bytes) => round(bytes / 2 ** 20, 1);

/** Why a descriptor limit could or could not be raised: raising a hard limit needs CAP_SYS_RESOURCE. */
function privileges() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const eff = BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(status)?.[1] ?? '0'}`);
  return {
    uid: process.getuid?.(),
    cap_sys_resource: Boolean(eff & (1n << 24n)),
    nr_open: Number(readFileSync('/proc/sys/fs/nr_open', 'utf8')),
  };
}

/**
 * Figures 1 and 2 on a fresh server per repeat, used for nothing else: idle RSS, then (garbage collected through
 * the inspector) RSS before any connection, at 1,000 light sessions and at N. N is the target (50,000) unless
 * the server's descriptor limit is lower; what capped it is stated with the figure. Users are seeded (1,000, no
 * guild), their tokens reused over the sessions.
 */
async function connections() {
  const runs = [];
  let cap = null;
  for (let rep = 0; rep < scale.connRepeats; rep++) {
    const dir = benchDir();
    const seeded = await seedDatabase({ path: join(dir, 'parley.db'), idleUsers: 1000 });
    const server = await startMonolith({}, { dir });
    let holders = null;
    try {
      await pause(2000);
      const run = { idle_rss: server.rssBytes(), idle_anon: server.anonBytes() };
      // One descriptor per connection: N must fit under the server's RLIMIT_NOFILE.
      let [, hard] = server.nofile();
      let raise = null;
      if (hard < scale.conns + 1000) {
        raise = server.raiseNofile(scale.conns + 1000);
        [, hard] = server.nofile();
      }
      const capacity = hard - server.fdCount() - 100;
      const n = Math.min(scale.conns, capacity);
      cap = {
        wanted: scale.conns,
        server_nofile_hard: hard,
        raise: raise && (raise.ok ? 'raised' : raise.error),
        ...privileges(),
        capacity,
        n,
      };
      await server.collectGarbage();
      run.before_rss = server.rssBytes();
      run.before_anon = server.anonBytes();
      const tokens = Array.from({ length: n }, (_, i) => seeded.idle[i % seeded.idle.length].token);
      holders = await startHolders(server.url, tokens, {
        lifetimeMs: DEADLINE * 2 + 120_000,
      });
      const first = await holders.openUpTo(Math.min(1000, n), 60_000);
      await pause(1000);
      run.at1000_rss_raw = server.rssBytes();
      await server.collectGarbage();
      run.at1000_rss = server.rssBytes();
      run.at1000_anon = server.anonBytes();
      run.at1000_open = first.open;
      const t0 = performance.now();
      const all = await holders.openUpTo(n, quick ? 60_000 : 240_000);
      run.ramp_per_s = round((all.open - first.open) / ((performance.now() - t0) / 1000), 0);
      await pause(2000);
      await server.collectGarbage();
      const stats = await holders.stats();
      run.open = stats.open;
      run.connected = (await metricValue(server.url, 'parley_gateway_connected_sockets')) ?? stats.open;
      run.after_rss = server.rssBytes();
      run.after_anon = server.anonBytes();
      run.fds = server.fdCount();
      run.failed = stats.failed;
      run.dropped = stats.dropped;
      run.errors = stats.errors;
      run.generators = holders.generators;
      run.generator_rss_mb = stats.generator_rss_mb;
      run.kb_per_conn = (run.after_rss - run.before_rss) / run.connected / 1024;
      run.anon_kb_per_conn = (run.after_anon - run.before_anon) / run.connected / 1024;
      run.marginal_kb_per_conn =
        (run.after_rss - run.at1000_rss) / Math.max(1, run.connected - run.at1000_open) / 1024;
      runs.push(run);
      process.stderr.write(
        `bench: connections run ${rep + 1}: ${run.connected} held, ${round(run.kb_per_conn, 1)} KB/conn, ` +
          `ramp ${run.ramp_per_s}/s\n`,
      );
    } finally {
      await holders?.close();
      await server.stop();
    }
  }
  if (!runs.length) return;
  const med = (f) => median(runs.map(f));
  const held = med((r) => r.connected);
  const kb = med((r) => r.kb_per_conn);
  const capNote =
    cap.n < cap.wanted
      ? `capped at ${cap.n} by the server's RLIMIT_NOFILE hard limit ${cap.server_nofile_hard} ` +
        `(one descriptor per connection; raising it failed: ${cap.raise ?? 'not tried'}; ` +
        `uid ${cap.uid}, CAP_SYS_RESOURCE ${cap.cap_sys_resource ? 'present' : 'absent'}, fs.nr_open ${cap.nr_open})`
      : undefined;
  figure(1, 'idle gateway connections held by one server process', held, 'conns', '>=50000', held >= 50_000, {
    note: capNote ?? (cap.wanted < 50_000 ? `this run opened ${cap.wanted} (quick or --scale)` : undefined),
    failed: runs.map((r) => r.failed),
    dropped: runs.map((r) => r.dropped),
    ramp_per_s: runs.map((r) => r.ramp_per_s),
    generators: runs[0].generators,
    generator_rss_mb: runs[0].generator_rss_mb,
  });
  figure(1, `RSS per idle gateway connection after GC (${held} held)`, round(kb, 1), 'KB', '<=24', kb <= 24, {
    runs: runs.map((r) => round(r.kb_per_conn, 1)),
    anon_kb_per_conn: round(
      med((r) => r.anon_kb_per_conn),
      1,
    ),
    marginal_kb_per_conn_after_1000: round(
      med((r) => r.marginal_kb_per_conn),
      1,
    ),
    rss_before_mb: mb(med((r) => r.before_rss)),
    rss_after_mb: mb(med((r) => r.after_rss)),
    note:
      `fresh server per run (median of ${runs.length}); (RSS after GC with N sessions - RSS after GC with none) / N; ` +
      'light sessions: users in no guild, READY only, heartbeats answered',
  });
  const idle = med((r) => r.idle_rss);
  figure(2, 'server RSS idle (fresh, no GC, inspector closed)', mb(idle), 'MB', '<64', idle < 64 * 2 ** 20, {
    anon_mb: mb(med((r) => r.idle_anon)),
    rss_after_gc_mb: mb(med((r) => r.before_rss)),
    note: 'RSS includes the shared, file-backed pages of the node binary; anon_mb is the private part',
  });
  const at1000 = med((r) => r.at1000_rss_raw);
  figure(2, 'server RSS at 1,000 connections', mb(at1000), 'MB', '<128', at1000 < 128 * 2 ** 20, {
    rss_after_gc_mb: mb(med((r) => r.at1000_rss)),
    anon_after_gc_mb: mb(med((r) => r.at1000_anon)),
  });
  shapes.connections = { cap, runs: runs.map((r) => ({ ...r, errors: undefined })) };
}

/**
 * Figure 4b: delivery to the last recipient of a channel with `bigMembers` members (seeded) and `bigListeners`
 * sessions listening, all held by the one generator process that also sends (send and receive timestamps in the
 * same process). The sessions belong to `bigDistinct` of the members (several sessions each), which keeps the
 * connect phase short; since `gateway.presence_large_threshold`, connects in a large guild no longer announce
 * presence to every guild-mate, so `--scale=bigDistinct=10000` is affordable too.
 */
async function bigChannel() {
  const dir = benchDir();
  const seeded = await seedDatabase({
    path: join(dir, 'parley.db'),
    guilds: [{ members: scale.bigMembers }],
  });
  const server = await startMonolith({}, { dir });
  try {
    const g = seeded.guilds[0];
    const [sender, ...members] = g.members;
    const distinct = Math.min(scale.bigDistinct, members.length);
    const tokens = Array.from({ length: scale.bigListeners }, (_, i) => members[i % distinct].token);
    const r = await runJob('deliveryLight', {
      base: server.url,
      senderToken: sender.token,
      channelId: g.channelId,
      tokens,
      addresses: Array.from({ length: 8 }, (_, j) => `127.0.0.${40 + j}`),
      rate: 2000,
      total: scale.bigMessages,
      // Sessions in a large guild start slowly (see the note): the ramp gets its own budget.
      rampMs: quick ? 40_000 : 240_000,
      deadlineMs: DEADLINE + (quick ? 40_000 : 240_000),
    });
    const s = summary(merge([r.hist]));
    const first = summary(merge([r.first]));
    const api = summary(merge([r.api]));
    const name =
      `delivery to last recipient, ${scale.bigMembers.toLocaleString('en')}-member channel ` +
      `(${r.listeners} sessions of ${distinct} members)`;
    figure(4, name, `p95 ${s.p95_ms}`, 'ms', 'p95<=150', s.p95_ms <= 150 && r.lost === 0, {
      p50_ms: s.p50_ms,
      p99_ms: s.p99_ms,
      max_ms: s.max_ms,
      first_recipient_p50_ms: first.p50_ms,
      api_p50_ms: api.p50_ms,
      sent: r.sent,
      lost: r.lost,
      errors: r.errors,
      ramp: { open: r.ramp.open, failed: r.ramp.failed, seconds: round(r.ramp.seconds, 1) },
      generator_rss_mb: r.generator_rss_mb,
      note:
        'one generator process holds every listener and sends, one message at a time; ' +
        `sessions spread over ${distinct} distinct members (several sessions each, to keep the connect phase short)`,
    });
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
    const done = parts.map((part, k) =>
      runJob(
        'stormLight',
        {
          base,
          tokens: part,
          addresses: Array.from({ length: 4 }, (_, j) => `127.0.0.${60 + 4 * k + j}`),
          expectMessages: messages,
          deadlineMs: quick ? 30_000 : 120_000,
        },
        (msg, child) => {
          if (!children.includes(child)) children.push(child);
          phases.push(msg.phase);
        },
      ),
    );
    // A generator that fails (e.g. a connect timeout) ends the scenario: the other one is stopped, no hang.
    let failure = null;
    for (const p of done) p.catch((err) => (failure ??= err));
    const waitPhase = async (phase) => {
      while (phases.filter((p) => p === phase).length < parts.length) {
        if (failure) throw failure;
        await pause(50);
      }
    };
    let out;
    try {
      await waitPhase('connected');
      for (const c of children) c.send('drop');
      await waitPhase('dropped');
      for (let i = 0; i < messages; i++)
        await call(base, 'POST', `/channels/${channelId}/messages`, people[0].token, {
          content: `storm ${i}`,
          nonce: `storm${i}`,
        });
      for (const c of children) c.send('reconnect');
      out = await Promise.all(done);
    } catch (err) {
      for (const c of children) c.kill();
      throw err;
    }
    const hist = merge(out.map((o) => o.hist));
    const sum = (key) => out.reduce((a, o) => a + (o[key] ?? 0), 0);
    const [resumed, within5s, lost, total] = [sum('resumed'), sum('within5s'), sum('lost'), sum('clients')];
    const s = summary(hist);
    figure(
      9,
      `reconnect storm: ${total} clients dropped at once, resumed`,
      `${round((100 * resumed) / total, 1)}% resumed (${round((100 * within5s) / total, 1)}% within 5 s), p50 ${s.p50_ms} / p95 ${s.p95_ms} ms, ${lost} events lost`,
      '',
      '95% < 5 s, 0 lost',
      within5s / total >= 0.95 && lost === 0,
      {
        invalid_sessions: sum('invalid'),
        failed: sum('failed'),
        reconnect_seconds: Math.max(...out.map((o) => o.seconds)),
        note: 'light clients (raw WebSocket speaking the socket.io protocol), 2 generator processes, 8 source addresses',
      },
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
      'fanoutListenLight',
      { base, tokens: part, expected: part.length * messages, deadlineMs: DEADLINE, bare },
      () => readies.push(1),
    ),
  );
  await waitFor(() => readies.length >= parts.length, 'every listener part is ready', DEADLINE);
  const start = performance.timeOrigin + performance.now();
  await trigger();
  const out = await Promise.all(results);
  const received = out.reduce((a, r) => a + r.received, 0);
  const last = Math.max(...out.map((r) => r.last));
  return received / ((last - start) / 1000);
}

async function bareFanout(clients, messages, payload) {
  const sample = JSON.stringify(payload);
  const child = fork(join(ROOT, 'bench/lib/bare-server.mjs'), [], {
    env: { ...process.env, PAYLOAD: sample },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise((r) => child.once('message', (m) => r(m.port)));
  try {
    const base = `http://127.0.0.1:${port}`;
    // Open the keep-alive connections first, as Parley's were by the set-up calls before its measurement.
    await Promise.all(Array.from({ length: messages }, () => call(base, 'POST', '/noop', null, {})));
    return await fanout(
      base,
      Array.from({ length: clients }, () => ''),
      messages,
      () => Promise.all(Array.from({ length: messages }, () => call(base, 'POST', '/emit', null, {}))),
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
const ctx = { quick, scale, DEADLINE, figure, shapes, notes, runJob, recordShape, users, fanout };
const external =
  (file, entry = 'run') =>
  async () =>
    (await import(`./scenarios/${file}`))[entry](ctx);

const started = Date.now();
const scenarioSeconds = {};
const scenarios = {
  rest: restShapes,
  gateway: gatewayFigures,
  connections,
  bigchannel: bigChannel,
  bigchannel2: external('bigchannel-split.mjs'),
  discord: external('discord.mjs'),
  storm: reconnectStorm,
  persist: persistence,
  microservices: external('microservices.mjs'),
  telemetry: external('telemetry.mjs'),
  routing: external('routing.mjs'),
  search: external('search.mjs'),
  reactions: external('reactions.mjs'),
  automod: external('automod.mjs'),
  unfurl: external('unfurl.mjs'),
  capacity: external('capacity.mjs'),
  // Only when asked for (`--only=capacity2`): figure 11 again against api + 2 gateways + queue.
  capacity2: external('capacity.mjs', 'runSplit'),
  rolling: external('rolling.mjs'),
  // Last: these start a local Cassandra node when none answers (and stop it), so it never shares the cores
  // with the scenarios above.
  cassandra: external('cassandra.mjs'),
  // Only when asked for (`--only=scale`): it generates (or resumes) a dataset of millions of rows.
  scale: external('scale.mjs'),
};
for (const [name, fn] of Object.entries(scenarios)) {
  if (!want(name) || ((name === 'scale' || name === 'capacity2') && !only)) continue;
  process.stderr.write(`bench: ${name}...\n`);
  const t0 = Date.now();
  try {
    await fn();
  } catch (err) {
    notes.push(`${name} failed: ${err.message}`);
    process.stderr.write(`bench: ${name} failed: ${err.stack}\n`);
  }
  scenarioSeconds[name] = round((Date.now() - t0) / 1000, 1);
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const result = {
  date: new Date().toISOString(),
  mode: quick ? 'quick' : 'full',
  seconds: round((Date.now() - started) / 1000, 1),
  scenario_seconds: scenarioSeconds,
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
// Columns as wide as their longest cell (ids such as 19-cassandra-send-api-open-high, long figure names).
const width = (cells, min) => Math.max(min, ...cells.map((c) => String(c).length + 2));
const [idW, nameW, valueW, targetW] = [
  width(
    figures.map((f) => f.id),
    4,
  ),
  width(
    figures.map((f) => f.name),
    70,
  ),
  width(
    figures.map((f) => `${f.value} ${f.unit}`),
    16,
  ),
  width(
    figures.map((f) => f.target),
    10,
  ),
];
console.log(pad('#', idW) + pad('figure', nameW) + pad('value', valueW) + pad('target', targetW) + 'status');
for (const f of figures)
  console.log(
    pad(f.id, idW) +
      pad(f.name, nameW) +
      pad(`${f.value} ${f.unit}`, valueW) +
      pad(f.target, targetW) +
      f.status,
  );
console.log('\npeer-comparable shapes:');
for (const [name, v] of Object.entries(shapes)) console.log(`  ${pad(name, 18)} ${JSON.stringify(v)}`);
if (notes.length) console.log(`\nnotes:\n  ${notes.join('\n  ')}`);
process.exit(0);
