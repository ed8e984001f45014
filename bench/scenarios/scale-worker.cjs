// One backend of the scale figures, in a process of its own:
//   node scale-worker.cjs <sqlite|cassandra> <generate|measure|purge> '<json {scale, dir, host, keyspace, budgetMs}>'
// generate: writes (or resumes) the dataset with the bulk writers (scale-dataset.cjs).
// measure: boots the monolith's Nest application in this process on the dataset and calls its services as a
//   request would (ReadyService.snapshot, MessageService.history / react), counting the statements each call
//   issues: a counting wrapper on the SQLite connection (statement cache and reader pool) or on the Cassandra
//   driver client (execute, batch), scoped with AsyncLocalStorage to the call measured, so the background work
//   of the application (jobs, the search indexer) is not counted.
// purge: deletes the big channel's history as the purge job does (purgeChannelStep until nothing is left).
'use strict';
const { AsyncLocalStorage } = require('node:async_hooks');
const { join } = require('node:path');
const {
  planOf,
  idsFor,
  layout,
  generate,
  forgetBigChannel,
  messageRecord,
  EMOJI,
} = require('./scale-dataset.cjs');

const ROOT = join(__dirname, '../..');
const HISTORY_SAMPLES = 200;
/**
 * Untimed rounds over every page before any is timed, at least this many and for at least HISTORY_WARMUP_S: a
 * node just started (or the measure process itself) is still compiling its hot paths and filling its caches,
 * which is not the steady state the p95 is about (a Cassandra node measured right after a start paused for
 * 100-260 ms now and then during its first minute or two, with no GC behind it: its JIT compiling).
 */
const HISTORY_WARMUP = 50;
const HISTORY_WARMUP_S = 30;
const REACT_SAMPLES = 200;
const round = (v, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))];
  return {
    p50: round(at(50)),
    p95: round(at(95)),
    p99: round(at(99)),
    max: round(sorted.at(-1)),
    n: sorted.length,
  };
}

function configFor(backend, args) {
  const { loadConfig } = require('../../dist/libs/config/src');
  return loadConfig({
    env: {},
    cwd: ROOT,
    overrides: {
      database: {
        backend,
        sqlite: { path: join(args.dir, 'parley.db') },
        cassandra: { hosts: [args.host], keyspace: args.keyspace, replication: { dc1: 1 } },
      },
      logging: { level: 'warn' },
      rate_limits: { enabled: false },
    },
  });
}

async function openStorage(backend, args) {
  const storageLib = require('../../dist/libs/storage/src');
  if (backend === 'sqlite') {
    const { openSqlite } = require('../lib/sqlite.cjs');
    const storage = openSqlite(join(args.dir, 'parley.db'));
    await storage.migrate();
    return storage;
  }
  const settings = configFor(backend, args).database.cassandra;
  // A fresh keyspace may be missing on some connections until the schema agrees: migrate again, new session.
  for (let attempt = 1; ; attempt++) {
    const storage = new storageLib.CassandraStorage(settings, { bulk: { maxInFlight: 64 } });
    try {
      await storage.migrate();
      return storage;
    } catch (err) {
      await storage.close().catch(() => undefined);
      if (attempt >= 5) throw err;
    }
  }
}

async function generatePhase(backend, args) {
  const plan = planOf(args.scale);
  const storage = await openStorage(backend, args);
  try {
    const progress = await generate(storage, plan, {
      progressPath: join(args.dir, 'progress.json'),
      budgetMs: args.budgetMs,
      log: (line) => process.stderr.write(`bench: scale ${backend}: ${line}\n`),
    });
    return { plan, progress };
  } finally {
    await storage.close();
  }
}

// ------------------------------------------------------------------------------------- counting statements

const scope = new AsyncLocalStorage();

/** A statement's text without its column list, on one line: what the timeline shows. */
const labelOf = (query) =>
  typeof query === 'string'
    ? query
        .replace(/\s+/g, ' ')
        .replace(/^SELECT .*? FROM /, 'SELECT .. FROM ')
        .slice(0, 110)
    : String(query);

/**
 * Wraps `obj[name]` so each call made inside `counted()` adds one to that call's count, and notes in the call's
 * timeline when the statement was sent and (for the driver's promises) when it was answered, in ms from the
 * call's start: which statements run one after another and which side by side.
 */
function countCalls(obj, name) {
  const original = obj[name];
  obj[name] = function (...a) {
    const box = scope.getStore();
    if (!box) return original.apply(this, a);
    box.n++;
    const entry = { at: performance.now() - box.t0, end: null, q: labelOf(a[0]) };
    box.timeline.push(entry);
    const result = original.apply(this, a);
    if (result && typeof result.then === 'function') {
      const done = () => (entry.end = performance.now() - box.t0);
      result.then(done, done);
    }
    return result;
  };
}

/** A run's timeline as lines `start-end ms  statement`, in the order sent. */
const timelineOf = (run) =>
  run.timeline.map((e) => `${round(e.at)}-${e.end === null ? '?' : round(e.end)} ms  ${e.q}`);

function instrument(storage) {
  if (storage.backend === 'sqlite') {
    // Every SQL the writer connection runs goes through its statement cache; hot reads go to the reader pool.
    countCalls(storage.db, 'statement');
    if (storage.pool) countCalls(storage.pool, 'all');
  } else {
    countCalls(storage.session.client, 'execute');
    countCalls(storage.session.client, 'batch');
    countCalls(storage.session.client, 'eachRow');
    countCalls(storage.session.client, 'stream');
  }
}

/** Runs fn, answering { ms, requests, timeline, value }. */
async function counted(fn) {
  const box = { n: 0, t0: performance.now(), timeline: [] };
  const value = await scope.run(box, fn);
  return { ms: performance.now() - box.t0, requests: box.n, timeline: box.timeline, value };
}

// ------------------------------------------------------------------------------------------------ measure

async function measurePhase(backend, args) {
  require('reflect-metadata');
  const plan = planOf(args.scale);
  const progress = JSON.parse(require('node:fs').readFileSync(join(args.dir, 'progress.json'), 'utf8'));
  const config = configFor(backend, args);
  const { ServerModule, createHttpApp } = require('../../dist/libs/platform/src');
  const { ReadyService, MessageService } = require('../../dist/libs/chat/src');
  const { STORAGE } = require('../../dist/libs/storage/src');
  const app = await createHttpApp(config, ServerModule.forRoot(config));
  await app.init();
  try {
    const storage = app.get(STORAGE, { strict: false });
    const ready = app.get(ReadyService, { strict: false });
    const messages = app.get(MessageService, { strict: false });
    const { snowflakeEpoch } = require('../../dist/libs/common/src');
    const ids = idsFor(snowflakeEpoch());
    const who = layout(plan, ids);
    instrument(storage);

    const out = { backend, dataset: { ...plan, big_channel_messages: progress.bigWritten } };

    // READY: the reader (guilds x channels) against the small reader (1 guild, 5 channels). Warm once first
    // (the access caches fill), then the median of 5 for the count and 20 for the time.
    const readyOf = async (userId) => {
      await ready.snapshot(userId);
      const runs = [];
      for (let i = 0; i < 20; i++) runs.push(await counted(() => ready.snapshot(userId)));
      const snap = runs[0].value;
      return {
        requests: Math.min(...runs.map((r) => r.requests)),
        requests_max: Math.max(...runs.map((r) => r.requests)),
        ms: stats(runs.map((r) => r.ms)),
        guilds: snap.guilds.length,
        channels: snap.guilds.reduce((n, g) => n + g.channels.length, 0),
        read_states: snap.read_states.length,
      };
    };
    out.ready = { reader: await readyOf(who.reader), small_reader: await readyOf(who.smallReader) };

    // History pages: newest, years back, around the viral message; the same on the small channel.
    const oldest = plan.messages - progress.bigWritten;
    const span = progress.bigWritten;
    const pages = {
      big_newest: { channel: who.bigChannel, query: { limit: 50 } },
      big_years_back: {
        channel: who.bigChannel,
        query: { limit: 50, before: ids.big(oldest + Math.floor(span / 8), plan.messages) },
      },
      big_around_viral: { channel: who.bigChannel, query: { limit: 50, around: who.viral } },
      big_around_old: {
        channel: who.bigChannel,
        query: { limit: 50, around: ids.big(oldest + Math.floor(span / 4), plan.messages) },
      },
      small_newest: { channel: who.smallChannel, query: { limit: 50 } },
      small_back: { channel: who.smallChannel, query: { limit: 50, before: ids.small(500) } },
      small_around_viral: { channel: who.smallChannel, query: { limit: 50, around: who.smallViral } },
    };
    out.history = {};
    const readerOf = (name) => (name.startsWith('small') ? who.smallReader : who.reader);
    const warmFrom = performance.now();
    const warmMs = (args.historyWarmupS ?? HISTORY_WARMUP_S) * 1000;
    let warmRounds = 0;
    while (warmRounds < (args.historyWarmup ?? HISTORY_WARMUP) || performance.now() - warmFrom < warmMs) {
      for (const [name, { channel, query }] of Object.entries(pages))
        await messages.history(channel, readerOf(name), query);
      warmRounds++;
    }
    out.history_warmup = { rounds: warmRounds, seconds: round((performance.now() - warmFrom) / 1000, 1) };
    for (const [name, { channel, query }] of Object.entries(pages)) {
      const reader = readerOf(name);
      await messages.history(channel, reader, query);
      const runs = [];
      for (let i = 0; i < (args.historySamples ?? HISTORY_SAMPLES); i++)
        runs.push(await counted(() => messages.history(channel, reader, query)));
      const page = runs[0].value;
      const byTime = [...runs].sort((a, b) => a.ms - b.ms);
      out.history[name] = {
        requests: Math.min(...runs.map((r) => r.requests)),
        requests_max: Math.max(...runs.map((r) => r.requests)),
        ms: stats(runs.map((r) => r.ms)),
        messages: page.length,
        reactions_on_page: page.reduce((n, m) => n + (m.reactions ?? []).reduce((k, r) => k + r.count, 0), 0),
        oldest_on_page: page.at(-1)
          ? new Date(require('../../dist/libs/common/src').snowflakeTime(page.at(-1).id))
              .toISOString()
              .slice(0, 10)
          : null,
        // The statements of the median run and of the run at p95, with when each was sent and answered.
        timeline_p50: timelineOf(byTime[Math.floor(byTime.length / 2)]),
        timeline_p95: timelineOf(byTime[Math.min(byTime.length - 1, Math.floor(byTime.length * 0.95))]),
      };
    }

    // React: members who have not reacted, on the viral message and on a fresh one, alternately (one user each
    // time), so warm-up and whatever else the process does meanwhile fall on both alike.
    const emoji = { kind: 'unicode', name: EMOJI };
    const react = async (messageId, k) =>
      counted(() => messages.react(who.bigChannel, who.sampleUser(k), messageId, emoji));
    // The fresh message is a bulk-written one with a fixed id, the same on both backends: a send would raise the
    // channel's last message id differently on each, and `parley verify` compares the two copies afterwards.
    const freshId = ids.fresh(0);
    await storage.bulk.write('messages', [
      messageRecord(freshId, who.bigChannel, who.bigGuild, who.reader, 'fresh'),
    ]);
    const viral = [];
    const fresh = [];
    const pairs = Math.min(REACT_SAMPLES, plan.samples / 2, plan.samples - REACT_SAMPLES);
    for (let k = 0; k < pairs; k++) {
      viral.push(await react(who.viral, k));
      fresh.push(await react(freshId, REACT_SAMPLES + k));
    }
    out.react = {
      viral: {
        reactions_before: plan.reactions,
        ms: stats(viral.map((r) => r.ms)),
        requests: Math.max(...viral.map((r) => r.requests)),
      },
      fresh: { ms: stats(fresh.map((r) => r.ms)), requests: Math.max(...fresh.map((r) => r.requests)) },
    };
    // Put things back: the dataset is reused by the next run.
    for (let k = 0; k < pairs; k++) {
      await storage.reactions.remove(who.bigChannel, who.viral, EMOJI, who.sampleUser(k));
      await storage.reactions.remove(who.bigChannel, freshId, EMOJI, who.sampleUser(REACT_SAMPLES + k));
    }
    await storage.messages.delete(who.bigChannel, freshId, who.bigGuild);
    return out;
  } finally {
    await app.close();
  }
}

// -------------------------------------------------------------------------------------------------- purge

async function purgePhase(backend, args) {
  const plan = planOf(args.scale);
  const storage = await openStorage(backend, args);
  try {
    const { snowflakeEpoch } = require('../../dist/libs/common/src');
    const who = layout(plan, idsFor(snowflakeEpoch()));
    await storage.channels.delete(who.bigChannel);
    const t0 = performance.now();
    let steps = 0;
    let failures = 0;
    const maxSteps = 1_000_000;
    const deadline = t0 + args.purgeBudgetMs;
    let finished = false;
    for (;;) {
      if (steps >= maxSteps) throw new Error(`purge did not finish in ${maxSteps} steps`);
      // Bounded in time: a purge stopped here resumes where it stopped (what is gone stays gone).
      if (performance.now() > deadline) break;
      try {
        if (!(await storage.messages.purgeChannelStep(who.bigChannel))) {
          finished = true;
          break;
        }
      } catch (err) {
        // A failed step is retried, as the job queue would; counted, and fatal past 20 in a row.
        failures++;
        if (failures > 20) throw err;
        continue;
      }
      steps++;
    }
    const seconds = (performance.now() - t0) / 1000;
    const left = await storage.messages.listLatest(who.bigChannel, 1);
    forgetBigChannel(join(args.dir, 'progress.json'));
    return {
      seconds: round(seconds, 1),
      steps,
      failed_steps: failures,
      finished,
      messages_left: left.length,
    };
  } finally {
    await storage.close();
  }
}

async function main() {
  const [backend, phase, json] = process.argv.slice(2);
  const args = JSON.parse(json);
  const run = { generate: generatePhase, measure: measurePhase, purge: purgePhase }[phase];
  if (!run) throw new Error(`unknown phase ${phase}`);
  const result = await run(backend, args);
  process.send(result, () => process.exit(0));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
