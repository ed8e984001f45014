// The scale dataset of issue 17 (docs/scaling.md, "The scale dataset"): a guild of `scaleMembers` members, a
// channel of `scaleMessages` messages over four years of buckets, a message with `scaleReactions` reactions, a
// reader in `scaleGuilds` guilds of `scaleChannels` channels; on SQLite and on one Cassandra node of its own
// (scale-node.cjs, 127.0.0.11). Written with the bulk writers (scale-dataset.cjs), cached under
// ~/.cache/parley/bench-scale/<key> and resumed on the next run when a run's time budget (`scaleBudgetS`, for the
// big channel's history) ends first. Reports statements per READY and per history page (against a small channel
// and a reader in 2 guilds), history p95, react p95 on the viral message against a fresh one, `parley verify`'s
// peak RSS on the dataset, and the time to purge the big channel (`scalePurge=0` keeps the dataset instead).
import { fork, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../lib/server.mjs';

const require = createRequire(import.meta.url);
const { planOf } = require('./scale-dataset.cjs');
const { ADDRESS, HEAP, startNode, stopNode, waitForCompactions } = require('./scale-node.cjs');
const { watchPeak } = require('../lib/peak-rss.cjs');

const BACKENDS = ['sqlite', 'cassandra'];

function worker(backend, phase, args) {
  return new Promise((resolve, reject) => {
    const child = fork(
      join(ROOT, 'bench/scenarios/scale-worker.cjs'),
      [backend, phase, JSON.stringify(args)],
      {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    let result = null;
    child.once('message', (msg) => (result = msg));
    child.once('exit', (code) =>
      result !== null ? resolve(result) : reject(new Error(`scale ${phase} on ${backend} exited ${code}`)),
    );
  });
}

/** Peak RSS (VmHWM, polled) of `parley verify --from a --to b`, and how it ended; killed after `timeoutS`. */
function verifyPeak(from, to, timeoutS) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      // The flags scripts/parley (`npx parley verify`) runs the CLI with.
      [
        '--max-semi-space-size=16',
        '--max-old-space-size=256',
        join(ROOT, 'dist/apps/cli/src/main.js'),
        'verify',
        '--from',
        from,
        '--to',
        to,
      ],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          PARLEY__LOGGING__LEVEL: 'warn',
          PARLEY__DATABASE__CASSANDRA__HOSTS: JSON.stringify([ADDRESS]),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const watch = watchPeak(child, 250);
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.once('exit', (code, signal) => {
      clearTimeout(kill);
      resolve({
        peak_rss_mb: watch.peakMb(),
        exit: signal ?? code,
        seconds: Math.round((performance.now() - t0) / 100) / 10,
        output_tail: watch.tail().trim().split('\n').slice(-6),
      });
    });
  });
}

export async function run({ quick, scale, figure, shapes, notes }) {
  const plan = planOf({
    members: scale.scaleMembers,
    messages: scale.scaleMessages,
    reactions: scale.scaleReactions,
    guilds: scale.scaleGuilds,
    channels: scale.scaleChannels,
    samples: 400,
  });
  const base = join(homedir(), '.cache/parley/bench-scale', plan.key);
  const keyspace = `parley_scale_${plan.key.replace(/[^a-z0-9]/g, '_')}`;
  // `scaleSqlite=0` / `scaleCassandra=0` leave a backend out (generation, measurement and verify).
  const backends = BACKENDS.filter((b) => (b === 'cassandra' ? scale.scaleCassandra : scale.scaleSqlite));
  const argsOf = (backend) => {
    const dir = join(base, backend);
    mkdirSync(dir, { recursive: true });
    return {
      scale: plan,
      dir,
      host: ADDRESS,
      keyspace,
      budgetMs: scale.scaleBudgetS * 1000,
      purgeBudgetMs: scale.scalePurgeBudgetS * 1000,
      historySamples: scale.scaleHistorySamples,
      historyWarmup: scale.scaleHistoryWarmup,
      historyWarmupS: scale.scaleHistoryWarmupS,
    };
  };
  const out = (shapes.scale = { dataset: plan, dir: base, quick });

  let node = null;
  try {
    if (backends.includes('cassandra')) {
      node = await startNode(quick ? 240 : 300);
      out.cassandra_node = `${ADDRESS} (own node, heap ${HEAP}, ${node.started ? 'started' : 'already running'})`;
    }
    // Generation of both backends at once (different engines, mostly waiting on I/O); measurements one at a time.
    const generated = await Promise.allSettled(backends.map((b) => worker(b, 'generate', argsOf(b))));
    const ready = [];
    for (const [i, backend] of backends.entries()) {
      const g = generated[i];
      if (g.status === 'rejected') {
        notes.push(`scale ${backend}: generation failed: ${g.reason.message}`);
        continue;
      }
      const { progress } = g.value;
      out[`${backend}_generation`] = {
        big_channel_messages: progress.bigWritten,
        complete: progress.bigWritten === plan.messages,
        big_channel_seconds_total: progress.bigSeconds,
        steps: progress.steps,
      };
      if (progress.bigWritten < plan.messages)
        notes.push(
          `scale ${backend}: the big channel holds ${progress.bigWritten.toLocaleString('en')} of ${plan.messages.toLocaleString('en')} messages (time budget reached; the next run continues)`,
        );
      if (backend === 'cassandra' && scale.scaleCompactionWaitS > 0)
        out.cassandra_compactions = await waitForCompactions(scale.scaleCompactionWaitS);
      try {
        const m = await worker(backend, 'measure', argsOf(backend));
        out[backend] = m;
        report(figure, backend, m);
        ready.push(backend);
      } catch (err) {
        notes.push(`scale ${backend}: measurement failed: ${err.message}`);
      }
    }

    // verify: the SQLite dataset against a copy of itself (equal by construction: the whole comparison runs);
    // against the Cassandra copy too when both hold the whole dataset.
    if (ready.includes('sqlite')) {
      const db = join(base, 'sqlite/parley.db');
      const copy = join(base, 'sqlite-copy.db');
      copyFileSync(db, copy);
      try {
        const v = await verifyPeak(`sqlite:${db}`, `sqlite:${copy}`, scale.scaleVerifyS);
        out.verify_sqlite = v;
        figure(
          '17-scale-verify',
          `parley verify peak RSS, SQLite dataset (${plan.messages.toLocaleString('en')} messages) vs a copy`,
          v.peak_rss_mb,
          'MB',
          '<300, flat',
          v.exit === 0 && v.peak_rss_mb < 300,
          { exit: v.exit, seconds: v.seconds },
        );
      } finally {
        rmSync(copy, { force: true });
      }
    }
    const whole = (b) => out[`${b}_generation`]?.complete;
    if (ready.includes('sqlite') && ready.includes('cassandra') && whole('sqlite') && whole('cassandra')) {
      const v = await verifyPeak(
        `sqlite:${join(base, 'sqlite/parley.db')}`,
        `cassandra:${keyspace}`,
        scale.scaleVerifyS,
      );
      out.verify_cassandra = v;
      figure(
        '17-scale-verify-cassandra',
        'parley verify peak RSS, SQLite dataset vs its Cassandra copy',
        v.peak_rss_mb,
        'MB',
        '<300, flat',
        v.exit === 0 && v.peak_rss_mb < 300,
        { exit: v.exit, seconds: v.seconds },
      );
    }

    // Last: the purge deletes the big channel (the next run writes it again).
    if (scale.scalePurge)
      for (const backend of ready) {
        try {
          const p = await worker(backend, 'purge', argsOf(backend));
          out[`${backend}_purge`] = p;
          figure(
            `17-scale-purge-${backend}`,
            `purge of the big channel (${out[`${backend}_generation`].big_channel_messages.toLocaleString('en')} messages), ${backend}`,
            p.finished ? p.seconds : `stopped at ${p.seconds}`,
            's',
            'finishes, nothing left',
            p.finished && p.messages_left === 0,
            { steps: p.steps, failed_steps: p.failed_steps, finished: p.finished },
          );
        } catch (err) {
          notes.push(`scale ${backend}: purge failed: ${err.message}`);
          figure(
            `17-scale-purge-${backend}`,
            `purge of the big channel, ${backend}`,
            'failed',
            '',
            'finishes',
            false,
          );
        }
      }
  } finally {
    // A node that was already running (started by hand for a series of runs) is left running.
    if (node?.started) stopNode();
  }
  if (!existsSync(base)) notes.push(`scale: no dataset directory ${base}`);
}

function report(figure, backend, m) {
  const target = backend === 'sqlite' ? 5 : 10;
  const r = m.ready;
  figure(
    `17-scale-ready-${backend}`,
    `statements per READY, reader in ${r.reader.guilds} guilds / ${r.reader.channels} channels, ${backend}`,
    r.reader.requests,
    'statements',
    `< channels (${r.reader.channels}): none per channel`,
    r.reader.requests < r.reader.channels,
    {
      small_reader: `${r.small_reader.requests} for ${r.small_reader.guilds} guilds / ${r.small_reader.channels} channels`,
    },
  );
  const big = ['big_newest', 'big_years_back', 'big_around_old'].map((k) => m.history[k]);
  const requests = big.map((h) => h.requests_max);
  figure(
    `17-scale-history-statements-${backend}`,
    `statements per 50-message page: newest / years back / around old (${m.dataset.big_channel_messages.toLocaleString('en')}-message channel), ${backend}`,
    requests.join(' / '),
    'statements',
    'the same on every page',
    Math.max(...requests) - Math.min(...requests) <= 3,
    {
      around_viral: m.history.big_around_viral.requests_max,
      small_channel: ['small_newest', 'small_back', 'small_around_viral']
        .map((k) => m.history[k].requests_max)
        .join(' / '),
    },
  );
  const p95 = Math.max(
    ...Object.entries(m.history)
      .filter(([k]) => k.startsWith('big'))
      .map(([, h]) => h.ms.p95),
  );
  figure(
    `17-scale-history-p95-${backend}`,
    `history p95, worst page of the big channel, ${backend}`,
    p95,
    'ms',
    `<=${target}`,
    p95 <= target,
    Object.fromEntries(Object.entries(m.history).map(([k, h]) => [k, h.ms.p95])),
  );
  const ratio = Math.round((m.react.viral.ms.p95 / m.react.fresh.ms.p95) * 100) / 100;
  figure(
    `17-scale-react-${backend}`,
    `react p95 on the message with ${m.react.viral.reactions_before.toLocaleString('en')} reactions / on a fresh one, ${backend}`,
    ratio,
    'x',
    '<=1.5',
    ratio <= 1.5,
    {
      viral_ms: m.react.viral.ms.p95,
      fresh_ms: m.react.fresh.ms.p95,
      statements: `${m.react.viral.requests} / ${m.react.fresh.requests}`,
    },
  );
}
