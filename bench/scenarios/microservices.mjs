// Monolith vs microservices, in the same run and with the same shapes (../shared/benchmarks.md: "Compare modes in
// the same run where it matters"):
//   monolith           one process (dist/apps/server)
//   microservices_1gw  api + one gateway + queue over NATS JetStream and Redis, one shared SQLite file (WAL)
//   microservices_2gw  api + two gateways (socket.io Redis adapter) + queue; gateway clients split over both
// Shapes per mode: closed-loop sends (sequential and 20 concurrent senders) through the REST API, delivery to the
// last of 99 listeners of a 100-member channel, and fan-out deliveries/s to N listeners (gateway clients go
// round-robin over the mode's gateways). The three deployments are up side by side and every shape takes turns on
// them (full run: 3 rounds; throughput is the median of rounds, percentiles come from the merged samples). Every
// mode gets a fresh SQLite directory and, for the split roles, a NATS subject/stream prefix and Redis key prefix of
// its own (removed afterwards). Per-process CPU time is read from /proc/<pid>/stat around every measured part, so
// the notes can say what the limit was. Everything listens on 127.0.0.1; every process started here is stopped,
// also on failure.
import { execFileSync, fork, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupGuild, call } from '../lib/api.mjs';
import { merge, summary, round, median } from '../lib/hist.mjs';
import { ROOT, portOpen, startProcess } from '../lib/server.mjs';
import { NATS_URL, REDIS_URL, purgePrefix } from './microservices-purge.mjs';

const GENERATOR = join(ROOT, 'bench/scenarios/microservices-loadgen.mjs');
const PURGE = join(ROOT, 'bench/scenarios/microservices-purge.mjs');
const MODES = ['monolith', 'microservices_1gw', 'microservices_2gw'];
const LABEL = {
  monolith: 'monolith',
  microservices_1gw: 'api+1 gateway+queue',
  microservices_2gw: 'api+2 gateways+queue',
};

/** Every child process this scenario started and has not seen exit: killed on any way out. */
const live = new Set();
const killAll = () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};
/** NATS/Redis prefixes and SQLite directories in use: removed on a signal too. */
const prefixes = new Set();
const dirs = new Set();

/**
 * On any way out (the orchestrator exits through process.exit on a signal): kill what is still running, remove
 * the SQLite directories and, in a short-lived child process (an 'exit' hook cannot wait), the NATS streams and
 * Redis keys of the prefixes still in use.
 */
function onExit() {
  killAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  if (prefixes.size > 0)
    spawnSync(process.execPath, [PURGE, ...prefixes], { cwd: ROOT, stdio: 'ignore', timeout: 10_000 });
}

export async function run(ctx) {
  process.on('exit', onExit);
  try {
    await compare(ctx);
  } finally {
    killAll();
    process.off('exit', onExit);
  }
}

async function compare(ctx) {
  const { figure, shapes, notes, quick, scale } = ctx;
  const missing = [];
  if (!(await portOpen('127.0.0.1', 6379, 1500))) missing.push('Redis on 127.0.0.1:6379');
  if (!(await portOpen('127.0.0.1', 4222, 1500))) missing.push('NATS (JetStream) on 127.0.0.1:4222');
  const report = {};
  shapes.modes = report;
  const sampler = makeSampler(ctx.DEADLINE);
  const modes = [];
  try {
    // All three deployments are up at the same time and every shape runs on them in turn (round r: monolith,
    // 1 gateway, 2 gateways), so noise from other work on the machine hits the modes alike. Idle, the other
    // modes' processes cost little; their CPU is counted apart (`other_modes`).
    for (const mode of MODES) {
      if (mode !== 'monolith' && missing.length) {
        report[mode] = { skipped: `needs ${missing.join(' and ')} (see docs/operations.md)` };
        continue;
      }
      process.stderr.write(`bench: microservices: starting ${mode}...\n`);
      try {
        modes.push(await setUp(ctx, mode, sampler));
      } catch (err) {
        fail(ctx, report, mode, err, 'start');
      }
    }
    const repeats = quick ? 1 : scale.repeats;
    for (const shape of SHAPES)
      for (let r = 0; r < repeats; r++)
        for (const m of modes) {
          if (m.failed || m.errors[shape.name]) continue; // a failed shape is not retried on that mode
          process.stderr.write(`bench: microservices: ${shape.name} ${r + 1}/${repeats} on ${m.mode}\n`);
          try {
            const { result, cpu } = await shape.run(ctx, m, sampler, r);
            (m.runs[shape.name] ??= []).push(result);
            const acc = (m.cpu[shape.name] ??= { wall: 0, seconds: {} });
            acc.wall += cpu.wall;
            for (const [k, v] of Object.entries(cpu.seconds)) acc.seconds[k] = (acc.seconds[k] ?? 0) + v;
          } catch (err) {
            // The mode's other shapes (and this shape's earlier runs) still count.
            const line = String(err?.message ?? err).split('\n')[0];
            m.errors[shape.name] = `run ${r + 1}: ${String(err?.message ?? err).slice(0, 500)}`;
            ctx.notes.push(`microservices: ${m.mode} ${shape.name} run ${r + 1} failed: ${line}`);
            process.stderr.write(
              `bench: microservices: ${m.mode} ${shape.name} failed: ${err?.stack ?? err}\n`,
            );
          }
        }
    for (const m of modes) if (!m.failed) report[m.mode] = summarise(m, sampler);
  } finally {
    await Promise.all(modes.map((m) => m.cluster.stop()));
  }

  const mono = report.monolith ?? {};
  for (const mode of MODES) {
    const m = report[mode];
    const d = m?.['delivery-100'];
    if (d) {
      figure(
        'M4',
        `delivery to last recipient, 100 members: ${LABEL[mode]}`,
        `p95 ${d.p95_ms}`,
        'ms',
        'p95<=15',
        d.lost === 0 && d.disconnected === 0 && d.p95_ms <= 15,
        {
          mode,
          p50_ms: d.p50_ms,
          p99_ms: d.p99_ms,
          runs_p95_ms: d.runs_p95_ms,
          lost: d.lost,
          sent: d.sent,
          disconnected: d.disconnected,
          gateways: m.gateways,
          ...(mode !== 'monolith' && mono['delivery-100']
            ? { monolith_p95_ms: mono['delivery-100'].p95_ms }
            : {}),
        },
      );
    }
    const f = m?.fanout;
    if (f) {
      figure(
        'M5',
        `fan-out deliveries/s, ${f.listeners} listeners: ${LABEL[mode]}`,
        f.deliveries_per_s,
        '/s',
        '>=60000',
        f.lost === 0 && f.deliveries_per_s >= 60_000,
        {
          mode,
          runs: f.runs,
          lost: f.lost,
          disconnected: f.disconnected,
          gateways: m.gateways,
          ...(mode !== 'monolith' && mono.fanout
            ? { ratio_to_monolith: round(f.deliveries_per_s / mono.fanout.deliveries_per_s, 2) }
            : {}),
          note:
            mode === 'microservices_2gw'
              ? 'the target is per gateway process; this is the sum of two gateway processes on the same 2 cores'
              : undefined,
        },
      );
    }
  }

  notes.push(
    'microservices comparison: the three deployments run side by side and take turns shape by shape; every process ' +
      '(servers, load generators, the shared NATS and Redis, the orchestrator) shares the same 2 cores, so the ' +
      'split roles (3-4 Node processes and a NATS hop, plus Redis writes, per message) are expected to be slower ' +
      'than the one monolith process here: the split pays off with a core or a machine per process. The ' +
      "figures below are each mode's CPU per process as % of one core over its measured parts (from " +
      '/proc/<pid>/stat; generators and orchestrator from their own counters), and the whole machine as % of ' +
      '200%; "others" is CPU of processes outside this scenario.',
  );
  notes.push(`microservices comparison (same run): ${compareLine(report)}`);
  for (const mode of MODES) {
    const m = report[mode];
    if (!m?.cpu) continue;
    for (const phase of ['send-concurrent', 'delivery-100', 'fanout'])
      if (m.cpu[phase]) notes.push(`microservices: ${mode} ${phase}: ${describeCpu(m.cpu[phase])}`);
    const peak = Object.entries(m.rss_peak_mb ?? {}).map(([k, v]) => `${k} ${v}`);
    notes.push(`microservices: ${mode} peak RSS (MB): ${peak.join(', ')}`);
    for (const [proc, counts] of Object.entries(m.server_warnings ?? {}))
      notes.push(
        `microservices: ${mode} ${proc} logged: ${Object.entries(counts)
          .map(([msg, n]) => `"${msg}" x${n}`)
          .join(', ')}`,
      );
    const dropped = (m.fanout?.disconnected_before ?? 0) + (m['delivery-100']?.disconnected_before ?? 0);
    const retries = (m.fanout?.connect_retries ?? 0) + (m['delivery-100']?.connect_retries ?? 0);
    if (dropped || retries)
      notes.push(
        `microservices: ${mode}: while the listeners connected, ${dropped} sessions were closed by the server ` +
          `(reopened before measuring) and ${retries} handshakes timed out or failed (retried)`,
      );
  }
  if (quick) notes.push('microservices comparison: quick run (smaller shapes, one run of each)');
}

/** One line: each shape's headline per mode, with the ratio to the monolith. */
function compareLine(report) {
  const mono = report.monolith;
  const ratio = (v, base) => (mono && base ? ` (${round(v / base, 2)}x)` : '');
  const parts = [];
  const rows = [
    ['send-sequential', 'msgs_per_s', 'msg/s'],
    ['send-concurrent', 'msgs_per_s', 'msg/s'],
    ['send-concurrent', 'p95_ms', 'ms p95'],
    ['delivery-100', 'p95_ms', 'ms p95'],
    ['fanout', 'deliveries_per_s', 'deliveries/s'],
  ];
  for (const [shape, key, unit] of rows) {
    const cells = MODES.filter((m) => report[m]?.[shape]).map(
      (m) =>
        `${m === 'monolith' ? 'mono' : m.replace('microservices_', '')} ${report[m][shape][key]}` +
        (m === 'monolith' ? '' : ratio(report[m][shape][key], mono?.[shape]?.[key])),
    );
    if (cells.length) parts.push(`${shape} ${unit}: ${cells.join(', ')}`);
  }
  return parts.join('; ');
}

function fail(ctx, report, mode, err, where) {
  const line = String(err?.message ?? err).split('\n')[0];
  report[mode] = { failed: `${where}: ${String(err?.message ?? err).slice(0, 500)}` };
  ctx.notes.push(`microservices: ${mode} failed (${where}): ${line}`);
  process.stderr.write(`bench: microservices: ${mode} failed (${where}): ${err?.stack ?? err}\n`);
}

/** "12.3 s; gateway1 92%, generators 61%, ...; machine 197% of 200% (others 20%)" */
function describeCpu(c) {
  const parts = Object.entries(c.pct_of_core)
    .filter(([k, v]) => v >= 2 && k !== 'machine' && k !== 'others')
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}%`);
  return (
    `${c.wall_s} s measured; CPU (% of one core): ${parts.join(', ')}; whole machine ` +
    `${c.pct_of_core.machine}% of ${c.cores * 100}% (others ${c.pct_of_core.others}%)`
  );
}

/** Starts one deployment and creates its users and channels (not measured). */
async function setUp(ctx, mode, sampler) {
  const { scale, users } = ctx;
  const t0 = Date.now();
  const cluster = await startCluster(mode);
  const m = { mode, cluster, runs: {}, cpu: {}, errors: {}, failed: false };
  try {
    for (const p of cluster.procs) sampler.add(`${mode}/${p.label}`, p.pid);
    m.startup_s = round((Date.now() - t0) / 1000, 1);
    const api = cluster.api;
    m.team = await users(api, 3, 'mst');
    m.people = await users(api, Math.max(100, scale.fanoutClients), 'msp');
    m.channelId = (await setupGuild(api, m.team)).channelId;
    m.hundred = m.people.slice(0, 100);
    m.c100 = (await setupGuild(api, m.hundred)).channelId;
    m.fan = m.people.slice(0, scale.fanoutClients);
    m.cf = (await setupGuild(api, [m.team[0], ...m.fan])).channelId;
    return m;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

/** The measured shapes, each run on every mode in turn. */
const SHAPES = [
  {
    // One sender, one request in flight.
    name: 'send-sequential',
    run: (ctx, m, sampler) =>
      measure(sampler, m.mode, [
        {
          job: 'send',
          params: {
            api: m.cluster.api,
            tokens: [m.team[0].token],
            channelId: m.channelId,
            total: ctx.scale.seq,
            concurrency: 1,
          },
        },
      ]).then(({ results, cpu }) => ({ result: results, cpu })),
  },
  {
    // 20 closed-loop senders over two generator processes, 3 users' tokens round-robin.
    name: 'send-concurrent',
    run: (ctx, m, sampler) =>
      measure(
        sampler,
        m.mode,
        [0, 1].map(() => ({
          job: 'send',
          params: {
            api: m.cluster.api,
            tokens: m.team.map((u) => u.token),
            channelId: m.channelId,
            total: ctx.scale.conc / 2,
            concurrency: 10,
          },
        })),
      ).then(({ results, cpu }) => ({ result: results, cpu })),
  },
  {
    // Delivery to the last of 99 listeners (spread over the gateways), one sender through the api.
    name: 'delivery-100',
    run: (ctx, m, sampler) =>
      measure(sampler, m.mode, [
        {
          job: 'delivery',
          params: {
            api: m.cluster.api,
            gateways: m.cluster.gateways,
            senderToken: m.hundred[0].token,
            listenerTokens: m.hundred.slice(1).map((u) => u.token),
            channelId: m.c100,
            total: Math.min(ctx.scale.delivery, 200),
          },
        },
      ]).then(({ results, cpu }) => ({ result: results[0], cpu })),
  },
  {
    // Fan-out: N listeners in two generator processes (each spread over the gateways), a burst of POSTs.
    name: 'fanout',
    run: async (ctx, m, sampler, r) => {
      const { fanoutMessages } = ctx.scale;
      const half = Math.ceil(m.fan.length / 2);
      const parts = [m.fan.slice(0, half), m.fan.slice(half)].map((p) => p.map((u) => u.token));
      let start = 0;
      let busBefore = [];
      const { results, cpu } = await measure(
        sampler,
        m.mode,
        parts.map((tokens) => ({
          job: 'fanoutListen',
          phased: true,
          params: { gateways: m.cluster.gateways, tokens, expected: tokens.length * fanoutMessages },
        })),
        async () => {
          busBefore = await busEvents(m.cluster.gateways);
          start = performance.timeOrigin + performance.now();
          await Promise.all(
            Array.from({ length: fanoutMessages }, (_, i) =>
              call(m.cluster.api, 'POST', `/channels/${m.cf}/messages`, m.team[0].token, {
                content: `fan ${r} ${i}`,
              }),
            ),
          );
        },
      );
      const received = results.reduce((a, x) => a + x.received, 0);
      const last = Math.max(...results.map((x) => x.last));
      const busAfter = await busEvents(m.cluster.gateways);
      return {
        result: {
          per_s: received / ((last - start) / 1000),
          received,
          expected: m.fan.length * fanoutMessages,
          perGateway: sumArrays(results.map((x) => x.perGateway)),
          disconnected: results.reduce((a, x) => a + x.disconnected, 0),
          disconnectedBefore: results.reduce((a, x) => a + x.disconnectedBefore, 0),
          reopened: results.reduce((a, x) => a + x.reopened, 0),
          connectRetries: results.reduce((a, x) => a + x.connectRetries, 0),
          reasons: mergeCounts(results.map((x) => x.disconnectReasons)),
          settle_ms: Math.max(...results.map((x) => x.settle_ms)),
          settle_events: results.reduce((a, x) => a + x.settle_events, 0),
          // Each gateway holds listeners of the channel: 1.0 means each message reached each node once.
          busPerEvent: busBefore.map((n, i) =>
            n === null || busAfter[i] === null ? null : (busAfter[i] - n) / fanoutMessages,
          ),
        },
        cpu,
      };
    },
  },
];

/** MESSAGE_CREATEs each gateway received from the bus (`parley_gateway_bus_events_total`; null if unreadable). */
async function busEvents(urls) {
  return Promise.all(
    urls.map(async (url) => {
      try {
        const text = await (await fetch(`${url}/metrics`)).text();
        const line = /^parley_gateway_bus_events_total\{type="MESSAGE_CREATE"\} (\S+)$/m.exec(text);
        return line ? Number(line[1]) : null;
      } catch {
        return null;
      }
    }),
  );
}

/** One mode's shapes from its runs: throughput is the median of runs, percentiles from the merged samples. */
function summarise(m, sampler) {
  const out = {
    processes: m.cluster.procs.map((p) => p.label),
    gateways: m.cluster.gateways.length,
    startup_s: m.startup_s,
  };
  if (Object.keys(m.errors).length) out.errors = m.errors;
  for (const name of ['send-sequential', 'send-concurrent']) {
    const runs = m.runs[name];
    if (!runs) continue;
    const all = runs.flat();
    const statuses = {};
    for (const r of all)
      for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    const perRun = runs.map(
      (rs) => rs.reduce((a, r) => a + r.sent, 0) / Math.max(...rs.map((r) => r.seconds)),
    );
    out[name] = {
      msgs_per_s: round(median(perRun), 0),
      ...pick(summary(merge(all.map((r) => r.hist)))),
      runs_msgs_per_s: perRun.map((v) => round(v, 0)),
      sent: all.reduce((a, r) => a + r.sent, 0),
      errors: all.reduce((a, r) => a + r.errors, 0),
      statuses,
    };
  }
  const dl = m.runs['delivery-100'];
  if (dl) {
    out['delivery-100'] = {
      listeners: dl[0].listeners,
      ...pick(summary(merge(dl.map((d) => d.hist)))),
      runs_p95_ms: dl.map((d) => summary(merge([d.hist])).p95_ms),
      api_p95_ms: summary(merge(dl.map((d) => d.api))).p95_ms,
      sent: dl.reduce((a, d) => a + d.sent, 0),
      lost: dl.reduce((a, d) => a + d.lost, 0),
      api_errors: dl.reduce((a, d) => a + d.apiErrors, 0),
      disconnected: dl.reduce((a, d) => a + d.disconnected, 0),
      // Sessions the server closed while the listeners connected and settled (reopened before measuring).
      disconnected_before: dl.reduce((a, d) => a + d.disconnectedBefore, 0),
      connect_retries: dl.reduce((a, d) => a + d.connectRetries, 0),
      disconnect_reasons: mergeCounts(dl.map((d) => d.disconnectReasons)),
    };
  }
  const fo = m.runs.fanout;
  if (fo) {
    out.fanout = {
      listeners: m.fan.length,
      messages: fo[0].expected / m.fan.length,
      deliveries_per_s: round(median(fo.map((f) => f.per_s)), 0),
      runs: fo.map((f) => round(f.per_s, 0)),
      lost: fo.reduce((a, f) => a + f.expected - f.received, 0),
      disconnected: fo.reduce((a, f) => a + f.disconnected, 0),
      disconnected_before: fo.reduce((a, f) => a + f.disconnectedBefore, 0),
      // Handshakes that timed out or failed while the listeners connected, retried (at most twice each).
      connect_retries: fo.reduce((a, f) => a + f.connectRetries, 0),
      disconnect_reasons: mergeCounts(fo.map((f) => f.reasons)),
      per_gateway_last_run: fo[fo.length - 1].perGateway,
      // Events each gateway received from the bus per message sent; target 1.0 (every node got every event before).
      events_received_per_gateway_per_event: fo[fo.length - 1].busPerEvent,
      // Connecting the listeners (all in one guild) sets off presence updates to every member; the measured part
      // starts once they have died down.
      connect_settle_ms: fo.map((f) => f.settle_ms),
      connect_settle_events: fo.map((f) => f.settle_events),
    };
  }
  out.rss_mb = Object.fromEntries(m.cluster.procs.map((p) => [p.label, round(p.rssBytes() / 2 ** 20, 1)]));
  out.rss_peak_mb = Object.fromEntries(
    m.cluster.procs.map((p) => [p.label, round(p.peakBytes() / 2 ** 20, 1)]),
  );
  const warnings = {};
  for (const p of m.cluster.procs) {
    const w = p.warnings();
    if (Object.keys(w).length) warnings[p.label] = w;
  }
  if (Object.keys(warnings).length) out.server_warnings = warnings;
  out.rss_total_mb = round(
    Object.values(out.rss_mb).reduce((a, b) => a + b, 0),
    1,
  );
  out.cpu = {};
  for (const [phase, acc] of Object.entries(m.cpu)) out.cpu[phase] = sampler.report(m.mode, acc);
  return out;
}

function pick(s) {
  return { p50_ms: s.p50_ms, p95_ms: s.p95_ms, p99_ms: s.p99_ms, max_ms: s.max_ms };
}

function mergeCounts(list) {
  const out = {};
  for (const counts of list) for (const [k, v] of Object.entries(counts ?? {})) out[k] = (out[k] ?? 0) + v;
  return out;
}

function sumArrays(arrays) {
  const out = [];
  for (const a of arrays) a.forEach((v, i) => (out[i] = (out[i] ?? 0) + v));
  return out;
}

// ---------------------------------------------------------------------------------------------- processes

async function startCluster(mode) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-ms-'));
  const procs = [];
  const prefix =
    mode === 'monolith' ? null : `bms${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
  if (prefix) prefixes.add(prefix);
  dirs.add(dir);
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    if (prefix) await purgePrefix(prefix);
    prefixes.delete(prefix);
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };
  const common = {
    PARLEY__DATABASE__SQLITE__PATH: join(dir, 'parley.db'),
    PARLEY__STORAGE__LOCAL__PATH: join(dir, 'files'),
    PARLEY__RATE_LIMITS__ENABLED: 'false',
    // Registration is set-up here, not a measured shape: cheap password hashing in every mode alike.
    PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
  };
  try {
    if (mode === 'monolith') {
      procs.push(await startNode('server', 'monolith', common));
      const url = procs[0].url;
      return { procs, api: url, gateways: [url], stop };
    }
    const env = {
      ...common,
      PARLEY__INSTANCE__DEPLOYMENT_MODE: 'microservices',
      PARLEY__REDIS__URL: REDIS_URL,
      PARLEY__REDIS__KEY_PREFIX: `${prefix}:`,
      PARLEY__NATS__URL: NATS_URL,
      PARLEY__NATS__SUBJECT_PREFIX: prefix,
      PARLEY__MEDIA__SIGNING_SECRET: `${prefix}-0123456789abcdef0123456789abcdef`,
    };
    // The api applies the SQLite migrations first; the others then start together (as the tests do).
    const api = await startNode('api', 'api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' });
    procs.push(api);
    const nGateways = mode === 'microservices_2gw' ? 2 : 1;
    const rest = await Promise.allSettled([
      ...Array.from({ length: nGateways }, (_, i) =>
        startNode('gateway', `gateway${i + 1}`, { ...env, PARLEY__INSTANCE__NODE_ID: String(2 + i) }),
      ),
      startNode('queue', 'queue', { ...env, PARLEY__INSTANCE__NODE_ID: '10' }),
    ]);
    for (const r of rest) if (r.status === 'fulfilled') procs.push(r.value);
    const failed = rest.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const gateways = procs.filter((p) => p.label.startsWith('gateway')).map((p) => p.url);
    return { procs, api: api.url, gateways, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Starts dist/apps/<app>/src/main.js on a free loopback port and waits for its "parley listening" line. */
async function startNode(app, label, env, timeoutMs = 30_000) {
  const main = join(ROOT, `dist/apps/${app}/src/main.js`);
  if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build"`);
  const { child, url } = await startProcess(
    main,
    {
      PARLEY__GATEWAY__PORT: '0',
      PARLEY__MEDIA_PROXY__PORT: '0',
      PARLEY__QUEUE__PORT: '0',
      ...env,
    },
    { label, timeoutMs, logLimit: 20_000 },
  );
  live.add(child);
  child.once('exit', () => live.delete(child));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
  };
  if (!/^http:\/\/127\.0\.0\.1:/.test(url)) {
    await stop();
    throw new Error(`${label} listens on ${url}, not on 127.0.0.1`);
  }
  // Warnings and errors the process logs meanwhile (pino JSON lines on stdout), counted by message.
  const warnings = {};
  let partial = '';
  child.stdout.on('data', (c) => {
    const lines = (partial + c).split('\n');
    partial = lines.pop().slice(-10_000);
    for (const line of lines) {
      const m = /^\{"level":(\d+).*?"msg":"([^"]{0,120})/.exec(line);
      if (m && Number(m[1]) >= 40) warnings[m[2]] = (warnings[m[2]] ?? 0) + 1;
    }
  });
  return {
    label,
    url,
    pid: child.pid,
    stop,
    rssBytes: () => statusKb(child.pid, 'VmRSS') * 1024,
    peakBytes: () => statusKb(child.pid, 'VmHWM') * 1024,
    warnings: () => ({ ...warnings }),
  };
}

function statusKb(pid, field) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

// -------------------------------------------------------------------------------------------- generators

/** Forks a generator; `ready` resolves when its measured part starts, `result` with its answer. */
function startGenerator(job, params, deadlineMs) {
  const child = fork(GENERATOR, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const kill = setTimeout(() => child.kill('SIGKILL'), deadlineMs + 30_000);
  let onReady;
  let onConnected;
  let onFail;
  const ready = new Promise((resolve, reject) => {
    onReady = resolve;
    onFail = reject;
  });
  const connected = new Promise((resolve, reject) => {
    onConnected = resolve;
    ready.catch(reject);
  });
  const result = new Promise((resolve, reject) => {
    child.on('message', (msg) => {
      if (msg.connected) return onConnected();
      if (msg.ready !== undefined) return onReady();
      clearTimeout(kill);
      child.kill();
      if (msg.ok) resolve(msg.result);
      else reject(new Error(msg.error));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(kill);
      reject(new Error(`generator ${job} exited ${code ?? signal}`));
    });
  });
  result.catch(onFail);
  // Whoever waits on these sees the rejection; nobody may be waiting on one of them (no unhandled rejection).
  ready.catch(() => {});
  connected.catch(() => {});
  child.send({ job, params: { ...params, deadlineMs } });
  return {
    ready,
    connected,
    result,
    send: (cmd) => child.connected && child.send(cmd),
    kill: () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'),
  };
}

/**
 * Runs generators; once all are in their measured part, samples CPU, runs `trigger` (if any), waits for all
 * results and samples again. Returns the results and CPU seconds per process over the measured part.
 */
async function measure(sampler, mode, specs, trigger) {
  const gens = specs.map((s) => startGenerator(s.job, s.params, sampler.deadlineMs));
  try {
    if (specs.some((s) => s.phased)) {
      // Every generator's sessions are open before any of them waits for the connect storm to settle.
      await Promise.all(gens.map((g) => g.connected));
      for (const g of gens) g.send('settle');
    }
    await Promise.all(gens.map((g) => g.ready));
    const before = sampler.sample();
    if (trigger) await trigger();
    const results = await Promise.all(gens.map((g) => g.result));
    const after = sampler.sample();
    const cpu = sampler.diff(before, after);
    cpu.seconds.generators = results.reduce((a, r) => a + r.cpuSeconds, 0);
    return { results, cpu };
  } catch (err) {
    // One generator failed: the others may be waiting for a command that will not come.
    for (const g of gens) g.kill();
    await Promise.allSettled(gens.map((g) => g.result));
    throw err;
  }
}

let clockTicks = 0;
function ticksPerSecond() {
  if (!clockTicks) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a process in clock ticks (fields 14 and 15 of /proc/<pid>/stat), or null if gone. */
function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
function machineTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3] + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function sharedServicePids() {
  const out = {};
  for (const [label, name] of [
    ['nats', 'nats-server'],
    ['redis', 'redis-server'],
  ]) {
    try {
      const pids = execFileSync('pgrep', ['-x', name], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .filter(Boolean);
      pids.forEach((pid, i) => (out[pids.length > 1 ? `${label}${i + 1}` : label] = Number(pid)));
    } catch {
      // not running here
    }
  }
  return out;
}

/** CPU seconds of every process this scenario knows (by label), of the orchestrator and of the whole machine. */
function makeSampler(deadlineMs) {
  const pids = sharedServicePids();
  const cores = Number(readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm)?.length ?? 1);
  const hz = ticksPerSecond();
  return {
    deadlineMs,
    add(label, pid) {
      pids[label] = pid;
    },
    sample() {
      const own = process.cpuUsage();
      return {
        at: performance.now(),
        machine: machineTicks(),
        orchestrator: (own.user + own.system) / 1e6,
        procs: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTicks(pid)])),
      };
    },
    diff(a, b) {
      const seconds = { orchestrator: b.orchestrator - a.orchestrator };
      for (const k of Object.keys(b.procs))
        if (a.procs[k] != null && b.procs[k] != null) seconds[k] = (b.procs[k] - a.procs[k]) / hz;
      const dTotal = b.machine.total - a.machine.total;
      // Busy CPU-seconds of the whole machine over the interval (jiffies are summed over all cores).
      const wall = (b.at - a.at) / 1000;
      seconds.machine = dTotal > 0 ? ((b.machine.busy - a.machine.busy) / dTotal) * cores * wall : 0;
      return { wall, seconds };
    },
    /** One mode's accumulated CPU seconds as % of one core, the other modes' (idle) processes summed. */
    report(mode, acc) {
      const pct = (s) => round((100 * s) / acc.wall, 0);
      const out = {};
      let ours = 0;
      let otherModes = 0;
      for (const [k, v] of Object.entries(acc.seconds)) {
        if (k === 'machine') continue;
        ours += v;
        if (k.startsWith(`${mode}/`)) out[k.slice(mode.length + 1)] = pct(v);
        else if (k.includes('/')) otherModes += v;
        else out[k] = pct(v);
      }
      out.other_modes = pct(otherModes);
      out.machine = pct(acc.seconds.machine ?? 0);
      out.others = Math.max(0, pct((acc.seconds.machine ?? 0) - ours));
      return { wall_s: round(acc.wall, 2), cores, pct_of_core: out };
    },
  };
}
