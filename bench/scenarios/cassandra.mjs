// Cassandra figures: 7c (messages persisted/s through Parley's driver, one node, LOCAL_QUORUM), 6c (history
// under write load with the monolith on Cassandra, plus send-sequential and history shapes on Cassandra) and
// 8 (SQLite -> Cassandra migration).
//
// The node: whatever answers CQL on 127.0.0.1:9042 (the single node or the loopback cluster). When nothing
// does, this scenario starts the single node (scripts/cassandra/up.sh) and stops it at the end, also on
// failure and on Ctrl-C, so the JVM never shares the cores with the scenarios that run before it.
import { fork, spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setupGuild } from '../lib/api.mjs';
import { merge, median, round, shapeOf, summary } from '../lib/hist.mjs';
import { ROOT, portOpen, startMonolith } from '../lib/server.mjs';

const require = createRequire(import.meta.url);
const { cpuWindow, cassandraPids, childPids, descendantPids, describeCpu } = require('./cassandra-cpu.cjs');
const {
  nodeInfo,
  durability,
  dropKeyspace,
  cqlRequestCounts,
  cqlRequestsBetween,
  tableLatencies,
  HOST,
} = require('./cassandra-node.cjs');

export async function run(ctx) {
  const node = await ensureNode(ctx);
  try {
    if (!node.up) {
      const reason = `no Cassandra node on ${HOST}:9042 and none could be started: ${node.error}`;
      ctx.figure('7c', 'messages persisted/s, one Cassandra node', 'not measured', '', '>=5000', null, {
        reason,
      });
      ctx.figure(
        '6c',
        'history fetch (50) under 200 msg/s writes, Cassandra',
        'not measured',
        '',
        'p95<=10',
        null,
        {
          reason,
        },
      );
      ctx.notes.push(`cassandra: ${reason}`);
      return;
    }
    const info = await nodeInfo();
    if (node.started)
      ctx.notes.push(
        `cassandra: started a single node for these figures (CQL after ${node.seconds} s), stopped after`,
      );
    // One scenario failing must not hide the others' figures.
    for (const [name, fn] of [
      ['persist', persistence],
      ['history', history],
      ['migration', migration],
    ]) {
      try {
        await fn(ctx, info);
      } catch (err) {
        ctx.notes.push(`cassandra ${name} failed: ${err.message}`);
        process.stderr.write(`bench: cassandra ${name} failed: ${err.stack}\n`);
      }
    }
  } finally {
    if (node.started) stopNode();
  }
}

// ---------------------------------------------------------------------------------------------- the node

const script = (name) => join(ROOT, 'scripts/cassandra', name);
let stopOnSignal = null;

/** Uses the node answering on 127.0.0.1:9042, or starts the single node. { up, started, seconds, error } */
async function ensureNode({ quick }) {
  if (HOST !== '127.0.0.1' || (await portOpen(HOST, 9042)))
    return { up: await portOpen(HOST, 9042), started: false };
  // A single node that is already starting (someone else's up.sh) is not ours to stop.
  const already =
    spawnSync('bash', [script('node.sh'), 'status', 'single'], { stdio: 'ignore' }).status === 0;
  process.stderr.write(
    'bench: cassandra: no node on 127.0.0.1:9042, starting one (scripts/cassandra/up.sh)\n',
  );
  const t0 = performance.now();
  const code = await new Promise((resolve) => {
    const child = spawn('bash', [script('up.sh')], {
      cwd: ROOT,
      env: { ...process.env, PARLEY_CASSANDRA_START_TIMEOUT: quick ? '120' : '240' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), (quick ? 150 : 270) * 1000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  const started = !already;
  if (started) {
    // Ctrl-C or a kill of the bench must not leave a JVM behind (it runs in its own session).
    stopOnSignal = (signal) => {
      stopNode();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGINT', stopOnSignal);
    process.once('SIGTERM', stopOnSignal);
  }
  if (code !== 0) {
    if (started) stopNode();
    return { up: false, started: false, error: `scripts/cassandra/up.sh exited ${code}` };
  }
  return { up: true, started, seconds: round((performance.now() - t0) / 1000, 1) };
}

function stopNode() {
  if (stopOnSignal) {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    stopOnSignal = null;
  }
  process.stderr.write('bench: cassandra: stopping the node this scenario started\n');
  spawnSync('bash', [script('down.sh')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 60_000,
  });
}

const freshKeyspace = () => `parley_bench_${randomBytes(4).toString('hex')}`;

function forkJson(file, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'bench/scenarios', file), args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let result;
    child.once('message', (m) => {
      result = m;
      // The answer is all we wait for: the open IPC channel would keep the child alive until the kill timer.
      child.disconnect();
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (result !== undefined) resolve(result);
      else reject(new Error(`${file} exited ${code ?? signal}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------- figure 7c

/** Enough in flight to keep one node busy from one client process (measured: 64 leaves it idle at times). */
const INFLIGHT = 256;

async function persistence({ scale, quick, figure }, info) {
  const keyspace = freshKeyspace();
  const maxSeconds = quick ? 20 : 60;
  const runs = [];
  let node = null;
  try {
    for (let i = 0; i < scale.repeats; i++)
      runs.push(
        await forkJson(
          'cassandra-persist.cjs',
          [keyspace, String(scale.persist), String(maxSeconds), String(INFLIGHT)],
          (maxSeconds + 90) * 1000,
        ),
      );
    node = await tableLatencies(keyspace, ['messages']);
  } finally {
    await dropKeyspace(keyspace).catch(() => undefined);
  }
  const rate = median(runs.map((r) => r.per_s));
  const mid = runs.find((r) => r.per_s === rate) ?? runs[0];
  const pass = rate >= 5000 && runs.every((r) => r.errors === 0);
  figure(
    '7c',
    `messages persisted/s, Cassandra ${info.nodes} node(s), ${mid.consistency}, ${durability(info)}`,
    round(rate, 0),
    '/s',
    '>=5000',
    pass,
    {
      runs: runs.map((r) => r.per_s),
      messages_per_run: runs.map((r) => r.persisted),
      errors: runs.reduce((a, r) => a + r.errors, 0),
      first_error: runs.find((r) => r.first_error)?.first_error ?? undefined,
      inflight: INFLIGHT,
      pool_size: mid.pool_size,
      replication: mid.replication,
      cassandra: info,
      cpu: mid.cpu,
      node_write_latency_ms: node?.messages?.write,
      note:
        `one writer process, CassandraStorage.messages.create (2 prepared upserts per new bucket, 1 after), ` +
        `10 channels, uncounted warm-up first; ${describeCpu(mid.cpu)}` +
        (pass ? '' : `; limit: ${limit(mid.cpu, 'writer')}`),
    },
  );
}

/** What a CPU sample says limited a run (for figures that miss). */
function limit(cpu, client) {
  if (!cpu?.machine_busy_cores) return 'unknown (no CPU sample)';
  const c = cpu.cores;
  const saturated = cpu.machine_busy_cores >= 0.9 * cpu.cpus;
  const top = Object.entries(c).sort((a, b) => b[1] - a[1])[0];
  if (saturated && (cpu.other_cores ?? 0) > top[1])
    return (
      `the machine's ${cpu.cpus} cores were saturated (${cpu.machine_busy_cores} busy) and processes outside ` +
      `this benchmark used most of them (${cpu.other_cores} cores, vs ${top[0]} ${top[1]})` +
      (cpu.cpu_pressure_pct !== undefined
        ? `; tasks waited for a core ${cpu.cpu_pressure_pct}% of the time`
        : '') +
      ': a shared machine; rerun on an idle one'
    );
  if (saturated)
    return (
      `the machine's ${cpu.cpus} cores were saturated (${cpu.machine_busy_cores} busy): ` +
      `${top[0]} used most (${top[1]})` +
      (cpu.other_cores >= 0.3 ? `, other processes took ${cpu.other_cores} cores` : '') +
      (cpu.cpu_pressure_pct !== undefined
        ? `, tasks waited for a core ${cpu.cpu_pressure_pct}% of the time`
        : '') +
      '; the node and the client compete for the same cores'
    );
  if ((c[client] ?? 0) >= 0.9) return `the ${client} side's Node main thread(s) (${c[client]} cores)`;
  return `not CPU (machine busy ${cpu.machine_busy_cores} of ${cpu.cpus}): latency-bound (round trips, GC pauses or I/O)`;
}

// ---------------------------------------------------------------------------------------------- figure 6c

async function history(ctx, info) {
  const { scale, quick, DEADLINE, figure, shapes, runJob, recordShape, users } = ctx;
  const keyspace = freshKeyspace();
  const server = await startMonolith(
    { PARLEY__DATABASE__BACKEND: 'cassandra', PARLEY__DATABASE__CASSANDRA__KEYSPACE: keyspace },
    { timeoutMs: 120_000 },
  );
  try {
    const base = server.url;
    const team = await users(base, 3, 'cas');
    const { channelId } = await setupGuild(base, team);

    // send-sequential on Cassandra (the peer shape, as in the SQLite run): it also fills the channel.
    const shape = { base, channelId };
    await recordShape('cassandra-send-sequential', 'send', {
      ...shape,
      token: team[0].token,
      total: scale.seq,
    });

    const plainBefore = await dbMetrics(base);
    const cqlBefore = await cqlRequestCounts();
    const plain = await recordShape('cassandra-history', 'history', {
      ...shape,
      token: team[1].token,
      total: scale.history,
    });
    // What one history request costs in storage calls (no other load): every call is a round trip to the node.
    const anatomy = perRequest(dbDelta(plainBefore, await dbMetrics(base)), plain.requests);
    anatomy.cql_requests = round(cqlRequestsBetween(cqlBefore, await cqlRequestCounts()) / plain.requests, 1);

    // Figure 6c: the same history loop while another process writes 200 msg/s (open loop) into the channel.
    // The writes are sized to outlast the reads (twice the unloaded history time, + 2 s), bounded by DEADLINE.
    const rate = 200;
    const writes = Math.min(Math.ceil(rate * (plain.seconds * 2 + 2)), Math.floor((rate * DEADLINE) / 1000));
    const before = await dbMetrics(base);
    const cpu = cpuWindow(() => ({
      cassandra: cassandraPids(),
      parley: [server.pid],
      loadgen: childPids(process.pid, 'loadgen.mjs'),
    }));
    let cpuUsage = null;
    const historyRun = runJob('history', {
      base,
      token: team[1].token,
      channelId,
      total: scale.history,
      concurrency: 1,
      deadlineMs: DEADLINE,
    }).finally(() => (cpuUsage = cpu.stop()));
    const [underLoad, bg] = await Promise.all([
      historyRun,
      runJob('sendRate', {
        base,
        token: team[2].token,
        channelId,
        rate,
        total: writes,
        deadlineMs: DEADLINE,
      }),
    ]);
    const after = await dbMetrics(base);
    const node = await tableLatencies(keyspace, [
      'messages',
      'reactions_by_bucket',
      'users',
      'channel_buckets',
    ]);
    const h = summary(merge([underLoad.hist]));
    const w = summary(merge([bg.hist]));
    const db = dbDelta(before, after);
    const pass = h.p95_ms <= 10 && underLoad.errors === 0;
    shapes['cassandra-history-under-writes'] = shapeOf(underLoad);
    figure(
      '6c',
      `history fetch (50) under ${rate} msg/s writes, Cassandra ${info.nodes} node(s), LOCAL_QUORUM`,
      `p95 ${h.p95_ms}`,
      'ms',
      'p95<=10',
      pass,
      {
        p50_ms: h.p50_ms,
        p99_ms: h.p99_ms,
        requests: underLoad.requests,
        errors: underLoad.errors,
        writes: {
          achieved_per_s: round(bg.sent / bg.seconds, 0),
          p50_ms: w.p50_ms,
          p95_ms: w.p95_ms,
          errors: bg.errors,
        },
        storage_per_request_unloaded: anatomy,
        storage_ms_under_load: db,
        node_latency_ms: node,
        cpu: cpuUsage,
        note:
          `monolith on a fresh keyspace; one history request makes ${anatomy.cql_requests} CQL requests ` +
          `(storage calls and their mean time unloaded in storage_per_request_unloaded); ${describeCpu(cpuUsage)}` +
          (pass ? '' : `; limit: ${historyLimit(anatomy, db, cpuUsage, node, h.p95_ms)}`),
      },
    );
  } finally {
    await server.stop();
    await dropKeyspace(keyspace).catch(() => undefined);
  }
}

/**
 * Storage calls per request and their mean time, from a /metrics delta over `requests` requests. Some calls
 * nest (channels.findById reads channels.row, messages.listLatest walks messages.buckets and walkOlder), so
 * the times overlap; the node's own count of CQL requests is added by the caller.
 */
function perRequest(delta, requests) {
  const ops = {};
  for (const [op, d] of Object.entries(delta)) {
    if (op.startsWith('jobs.')) continue; // the monolith's job poller, not the request
    const per = d.count / requests;
    if (per >= 0.5) ops[op] = { per_request: round(per, 2), mean_ms: d.mean_ms };
  }
  return { ops };
}

/** Why history p95 missed: the storage calls of one request, and what the CPU shows. */
function historyLimit(anatomy, db, cpu, node, p95) {
  const slowest = Object.entries(db)
    .filter(([op]) => !op.startsWith('jobs.'))
    .sort((a, b) => b[1].mean_ms - a[1].mean_ms)
    .slice(0, 3)
    .map(([op, d]) => `${op} ${d.mean_ms} ms`);
  const calls = Object.entries(anatomy.ops)
    .map(([op, d]) => `${op} ${d.mean_ms}`)
    .join(', ');
  return (
    `each request sends ${anatomy.cql_requests} CQL requests; storage calls unloaded, mean ms: ` +
    `${calls}; under the writes the slowest were ${slowest.join(', ')}${nodeSide(node, p95)}; ${limit(cpu, 'parley')}`
  );
}

/** "; the node itself answered messages reads in p50 0.1 / p99 0.5 ms" (from system_views). */
function nodeSide(node, p95) {
  const r = node?.messages?.read;
  const x = node?.reactions?.read;
  if (!r) return '';
  return (
    `; the node itself served messages reads in p50 ${r.p50_ms} / p99 ${r.p99_ms} ms` +
    (x ? ` and reactions reads in p50 ${x.p50_ms} / p99 ${x.p99_ms} ms` : '') +
    ' (system_views.coordinator_read_latency, 1 ms resolution)' +
    (r.p99_ms * 3 < p95
      ? ', so most of the time is spent outside the node: waiting for a core, in the driver and on round trips'
      : ", so the node's own read time is a large part of it")
  );
}

/** parley_db_operation_duration_seconds from /metrics: per operation, cumulative bucket counts, sum, count. */
async function dbMetrics(base) {
  const text = await (await fetch(`${base}/metrics`)).text().catch(() => '');
  const ops = {};
  const re = /^parley_db_operation_duration_seconds_(bucket|sum|count)\{([^}]*)\} (\S+)$/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    const op = (ops[labels.operation] ??= { buckets: {}, sum: 0, count: 0 });
    if (m[1] === 'bucket') op.buckets[labels.le] = Number(m[3]);
    else op[m[1]] = Number(m[3]);
  }
  return ops;
}

function dbDelta(before, after) {
  const out = {};
  for (const [op, a] of Object.entries(after)) {
    const b = before[op] ?? { buckets: {}, sum: 0, count: 0 };
    const count = a.count - b.count;
    if (count <= 0) continue;
    const les = Object.keys(a.buckets).sort((x, y) => Number(x) - Number(y)); // "+Inf" sorts last (NaN)
    let p95 = '+Inf';
    for (const le of les) {
      if (a.buckets[le] - (b.buckets[le] ?? 0) >= 0.95 * count) {
        p95 = le === '+Inf' ? '+Inf' : round(Number(le) * 1000, 2);
        break;
      }
    }
    out[op] = { count, mean_ms: round(((a.sum - b.sum) / count) * 1000, 2), p95_le_ms: p95 };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- figure 8

/**
 * Figure 8: `parley migrate` from SQLite into a fresh keyspace on the local Cassandra node, verified, and the
 * final-delta run that a maintenance window takes.
 */
async function migration({ scale, quick, figure }, info) {
  const runs = [];
  const jvms = new Set(cassandraPids());
  const cpu = cpuWindow(() => ({
    cassandra: [...jvms],
    // migrate.cjs and the `parley migrate` processes it runs
    migrate: descendantPids(process.pid).filter((pid) => !jvms.has(pid)),
  }));
  for (let i = 0; i < scale.repeats; i++) {
    const result = await forkJson('migrate.cjs', [String(scale.migrate)], (quick ? 240 : 900) * 1000);
    if (result.skipped) {
      figure(8, 'SQLite -> Cassandra migration rate, verified', 'not measured', '', '>=20000 msg/s', null, {
        reason: result.skipped,
      });
      return;
    }
    runs.push(result);
  }
  const usage = cpu.stop();
  const rate = median(runs.map((r) => r.messages_per_s));
  const verified = runs.every((r) => r.verified);
  const pass = verified && rate >= 20_000;
  const last = runs[runs.length - 1];
  figure(
    8,
    `SQLite -> Cassandra migration rate, verified (${last.cassandra.nodes} node(s), ${durability(info)})`,
    round(rate, 0),
    'msg/s',
    '>=20000 msg/s',
    pass,
    {
      runs: runs.map((r) => r.messages_per_s),
      verified,
      messages: last.messages,
      all_tables_rows_per_s: median(runs.map((r) => r.rows_per_s)),
      verify_seconds: median(runs.map((r) => r.verify_seconds)),
      end_to_end_seconds: median(runs.map((r) => r.end_to_end_seconds)),
      window: last.window,
      cassandra: last.cassandra,
      cpu: usage,
      note:
        `CPU over the whole runs (seeding the SQLite source, copy, verify, final delta): ${describeCpu(usage)}` +
        (pass ? '' : `; limit: ${verified ? limit(usage, 'migrate') : 'the copy did not verify'}`),
    },
  );
}
