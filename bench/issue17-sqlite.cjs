// Bounded measurements of issue 17's SQLite leftovers, outside the full scale bench (needs `npm run build`):
//
//   node bench/issue17-sqlite.cjs generate <dir> <messages>   the scale dataset (5,000 members, 20 x 10 channels,
//                                                            <messages> in the big channel) in <dir>/parley.db,
//                                                            its search index caught up
//   node bench/issue17-sqlite.cjs purge <dir>                  the purge job's loop on the big channel of a copy;
//                                                            messages/s, steps, the longest step
//   node bench/issue17-sqlite.cjs verify <dir>                 `parley verify` of the dataset against a copy;
//                                                            peak RSS (VmHWM, polled); ISSUE17_FLAGS=parley runs
//                                                            the CLI with scripts/parley's V8 flags for verify
//
// The data is the scale bench's generator (bench/scenarios/scale-dataset.cjs); the copies are removed after.
'use strict';
const { spawn } = require('node:child_process');
const { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } = require('node:fs');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');
const { watchPeak } = require('./lib/peak-rss.cjs');
const { openSqlite } = require('./lib/sqlite.cjs');
const { planOf, idsFor, layout, generate } = require('./scenarios/scale-dataset.cjs');

const ROOT = join(__dirname, '..');
// ISSUE17_FULL=1: the full scale's other tables (100,000 members and reactions, 100 x 50 channels) around
// <messages>; otherwise the quick scale's (5,000) in 20 x 10 channels.
const planFor = (messages) =>
  process.env.ISSUE17_FULL === '1'
    ? planOf({ members: 100_000, messages, reactions: 100_000, guilds: 100, channels: 50, samples: 200 })
    : planOf({ members: 5000, messages, reactions: 5000, guilds: 20, channels: 10, samples: 200 });

async function generatePhase(dir, messages) {
  mkdirSync(dir, { recursive: true });
  const storage = openSqlite(join(dir, 'parley.db'));
  await storage.migrate();
  try {
    await generate(storage, planFor(messages), {
      progressPath: join(dir, 'progress.json'),
      budgetMs: 3_600_000,
      log: (line) => process.stderr.write(`issue17: ${line}\n`),
    });
    const t0 = performance.now();
    let indexed = 0;
    for (let n; (n = storage.messageSearch.indexPending(50)) > 0;) indexed += n;
    process.stderr.write(
      `issue17: ${indexed} messages indexed in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
    );
  } finally {
    await storage.close();
  }
}

async function purgePhase(dir) {
  const progress = JSON.parse(readFileSync(join(dir, 'progress.json'), 'utf8'));
  const plan = planFor(progress.bigWritten);
  const copy = join(dir, 'purge-copy.db');
  copyFileSync(join(dir, 'parley.db'), copy);
  const storage = openSqlite(copy);
  try {
    await storage.migrate();
    const { snowflakeEpoch } = require('../dist/libs/common/src');
    const who = layout(plan, idsFor(snowflakeEpoch()));
    const channel = who.bigChannel;
    const before = progress.bigWritten;
    let steps = 0;
    let longest = 0;
    const t0 = performance.now();
    for (;;) {
      const s0 = performance.now();
      const more = await storage.messages.purgeChannelStep(channel);
      longest = Math.max(longest, performance.now() - s0);
      if (!more) break;
      steps++;
    }
    const seconds = (performance.now() - t0) / 1000;
    const left = await storage.messages.listLatest(channel, 1);
    console.log(
      JSON.stringify({
        messages: before,
        seconds: Math.round(seconds * 10) / 10,
        messages_per_s: Math.round(before / seconds),
        steps,
        longest_step_ms: Math.round(longest),
        left: left.length,
      }),
    );
  } finally {
    await storage.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(copy + suffix, { force: true });
  }
}

function verifyPhase(dir) {
  const db = join(dir, 'parley.db');
  const copy = join(dir, 'verify-copy.db');
  copyFileSync(db, copy);
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [
        ...(process.env.ISSUE17_FLAGS === 'parley'
          ? ['--max-semi-space-size=16', '--max-old-space-size=256']
          : []),
        join(ROOT, 'dist/apps/cli/src/main.js'),
        'verify',
        '--from',
        `sqlite:${db}`,
        '--to',
        `sqlite:${copy}`,
      ],
      {
        cwd: ROOT,
        env: { ...process.env, PARLEY__LOGGING__LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const watch = watchPeak(child, 100);
    child.once('exit', (code) => {
      rmSync(copy, { force: true });
      console.log(
        JSON.stringify({
          peak_rss_mb: watch.peakMb(),
          exit: code,
          seconds: Math.round((performance.now() - t0) / 100) / 10,
          tail: watch.tail().trim().split('\n').slice(-3),
        }),
      );
      resolve();
    });
  });
}

async function main() {
  const [what, dir, n] = process.argv.slice(2);
  if (what === 'generate' && dir && Number(n) > 0) return generatePhase(dir, Number(n));
  if (what === 'purge' && dir && existsSync(join(dir, 'progress.json'))) return purgePhase(dir);
  if (what === 'verify' && dir && existsSync(join(dir, 'parley.db'))) return verifyPhase(dir);
  console.error(
    'usage: node bench/issue17-sqlite.cjs generate <dir> <messages> | purge <dir> | verify <dir>',
  );
  process.exitCode = 64;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
