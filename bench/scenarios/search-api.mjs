// Send latency at the API with message search indexing on and off (issue 19, docs/search.md "Measured"): what a
// user experiences as a send, `POST /channels/:id/messages` through a real monolith (auth, validation,
// permissions, storage, the event and its gateway delivery), against the storage-level figure of search-worker.cjs.
//
// One monolith per backend: SQLite (a fresh file), or Cassandra (a fresh keyspace on the node the search bench
// uses: PARLEY_BENCH_CASSANDRA, default 127.0.0.1; dropped afterwards). A guild of CHANNELS text channels and
// POSTERS members who send, each holding a gateway session (in a load generator process of its own), so every
// send is delivered to POSTERS sessions. Messages are 8 words of the storage figure's Zipf-like vocabulary.
//
// Index off: SQLite, the FTS insert trigger dropped (and recreated) from a second connection to the server's
// database file, as search-worker.cjs does in-process; Cassandra, the server's bench-only switch
// (PARLEY_BENCH_SEARCH_INDEX_SWITCH, apps/server/src/bench-switch.ts). Rounds alternate on and off (ABBA: on,
// off, off, on, ...) so machine-load drift hits both alike; the first send of each round carries a word of its
// own, searched at the end: found for every "on" round and for no "off" round, or the figure says the switch
// did not hold.
//
// Shapes, each `searchApiRounds` rounds per side of `searchApiRoundSeconds`:
//   open loop at OPEN_RATE (the capacity model's send rate of 20,000 online users, see openRate()) and at
//   HIGH_FACTOR times it: sends start on schedule whatever earlier ones are doing, each timed from when it was
//   due; closed loop with CLOSED_INFLIGHT sends in flight.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { call, registerUser, setupGuild } from '../lib/api.mjs';
import { round } from '../lib/hist.mjs';
import { startHolders } from '../lib/holders.mjs';
import { seedDatabase } from '../lib/seed.mjs';
import { benchDir, startMonolith } from '../lib/server.mjs';
import { RATES, guildMix, LURKER_FROM, POSTER_SHARE } from './capacity.mjs';

const require = createRequire(import.meta.url);
const { zipfWord } = require('../lib/vocabulary.cjs');

const CHANNELS = 8;
/**
 * Members who send, round-robin. Enough that even the higher open-loop rate stays under the default per-user
 * limit of `messages.create` (10 per 5 s): the bench servers run with rate limits off, but a send that a real
 * server would refuse would not be a send a user experiences.
 */
const POSTERS = 64;
const CLOSED_INFLIGHT = 4;
const HIGH_FACTOR = 4;
/** At most this many sends per round and side, whatever the rate and round length. */
const ROUND_SENDS_MAX = 3000;
const WORDS = 8;

/**
 * The send rate of the capacity bench's user model (capacity.mjs, docs/scaling.md) at 20,000 online users, its
 * guild mix: everyone in guilds under LURKER_FROM members posts, 1 in 10 above; each poster sends RATES.send per
 * second (one send every 5 minutes, already 3x for a busy hour). About 22 sends/s, here all into one guild.
 */
export function openRate(users = 20_000) {
  const posters = guildMix(users).reduce(
    (n, size) => n + (size >= LURKER_FROM ? size * POSTER_SHARE : size),
    0,
  );
  return posters * RATES.send;
}

// The storage figure's vocabulary (bench/lib/vocabulary.cjs).
const word = () => zipfWord();
const content = (first) => [first ?? word(), ...Array.from({ length: WORDS - 1 }, word)].join(' ');

const p = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))];
function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: round(p(sorted, 50)),
    p95: round(p(sorted, 95)),
    p99: round(p(sorted, 99)),
    n: sorted.length,
  };
}

/** A monolith on `backend` with a guild of CHANNELS channels and POSTERS members; `indexing(on)` switches. */
async function deploy(backend, keyspace) {
  if (backend === 'sqlite') {
    const dir = benchDir();
    const path = join(dir, 'parley.db');
    const seeded = await seedDatabase({ path, guilds: [{ members: POSTERS }] });
    const server = await startMonolith({}, { dir, timeoutMs: 60_000 });
    const { guildId, channelId, members } = seeded.guilds[0];
    const sw = sqliteSwitch(path);
    return { server, guildId, channelIds: [channelId], members, indexing: sw.set, release: sw.close };
  }
  const host = process.env.PARLEY_BENCH_CASSANDRA || '127.0.0.1';
  const server = await startMonolith(
    {
      PARLEY__DATABASE__BACKEND: 'cassandra',
      PARLEY__DATABASE__CASSANDRA__HOSTS: JSON.stringify([host]),
      PARLEY__DATABASE__CASSANDRA__KEYSPACE: keyspace,
      PARLEY_BENCH_SEARCH_INDEX_SWITCH: '1',
    },
    { timeoutMs: 180_000 },
  );
  try {
    // Registered through the API (an argon2 hash each), a few at a time.
    const members = [];
    while (members.length < POSTERS)
      members.push(...(await Promise.all(Array.from({ length: 8 }, () => registerUser(server.url, 'sapi')))));
    const { guildId, channelId } = await setupGuild(server.url, members);
    const url = /"msg":"parley bench switch","url":"([^"]+)"/.exec(server.log())?.[1];
    if (!url) throw new Error('the server did not start its bench switch');
    return {
      server,
      guildId,
      channelIds: [channelId],
      members,
      indexing: async (on) => {
        const res = await fetch(`${url}/search-index/${on ? 'on' : 'off'}`, { method: 'PUT' });
        if ((await res.json()).indexing !== on)
          throw new Error(`the bench switch did not turn indexing ${on}`);
      },
      release: () => dropKeyspace(host, keyspace),
    };
  } catch (err) {
    await server.stop();
    await dropKeyspace(host, keyspace);
    throw err;
  }
}

/**
 * SQLite: the FTS insert trigger (migration 0042) dropped and recreated over a second connection to the live
 * server's file. The server's prepared statements are prepared again on the schema change (SQLite does that by
 * itself), and the end-of-run search check shows whether the server's sends followed it.
 */
function sqliteSwitch(path) {
  const Database = require('better-sqlite3');
  const db = new Database(path);
  db.pragma('busy_timeout = 10000');
  const create = db
    .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_fts_insert'")
    .get().sql;
  return {
    set: async (on) => {
      db.exec('DROP TRIGGER IF EXISTS messages_fts_insert');
      if (on) db.exec(create);
    },
    close: async () => db.close(),
  };
}

async function dropKeyspace(host, keyspace) {
  const cassandra = require('cassandra-driver');
  const client = new cassandra.Client({ contactPoints: [host], localDataCenter: 'dc1' });
  await client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`).catch(() => undefined);
  await client.shutdown();
}

/** One send as a member; resolves with its latency from `from` (ms), or throws on a non-200 answer. */
function sender(base, members, channelIds) {
  let next = 0;
  return async (from, first) => {
    const k = next++;
    const member = members[k % members.length];
    const channelId = channelIds[k % channelIds.length];
    const res = await call(base, 'POST', `/channels/${channelId}/messages`, member.token, {
      content: content(first),
    });
    if (res.status !== 200)
      throw new Error(`send answered ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`);
    return performance.now() - from;
  };
}

/** Open loop: sends start at `rate` whether or not earlier ones finished, each timed from when it was due. */
async function openRound(send, rate, seconds, marker) {
  const total = Math.min(ROUND_SENDS_MAX, Math.round(rate * seconds));
  const interval = 1000 / rate;
  const pending = [];
  const t = performance.now();
  for (let issued = 0; issued < total;) {
    const now = performance.now();
    for (; issued < total && t + issued * interval <= now; issued++)
      pending.push(send(t + issued * interval, issued === 0 ? marker : undefined));
    // Pacing, not synchronisation: wait for the next send's start time.
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, t + issued * interval - performance.now())),
    );
  }
  return Promise.all(pending);
}

/** Closed loop: CLOSED_INFLIGHT sends at a time for `seconds`; returns the latencies and the rate reached. */
async function closedRound(send, seconds, marker) {
  const samples = [];
  const t = performance.now();
  const end = t + seconds * 1000;
  let first = marker;
  await Promise.all(
    Array.from({ length: CLOSED_INFLIGHT }, async () => {
      while (performance.now() < end && samples.length < ROUND_SENDS_MAX) {
        const m = first;
        first = undefined;
        samples.push(await send(performance.now(), m));
      }
    }),
  );
  samples.rate = samples.length / ((performance.now() - t) / 1000);
  return samples;
}

/**
 * `rounds` pairs of rounds of `shape(marker)`, ABBA (on off, off on, ...); the markers of each side's rounds are
 * returned for the end-of-run search check.
 */
async function interleaved(indexing, rounds, shape, tag) {
  const on = [];
  const off = [];
  const markers = { on: [], off: [] };
  const rates = { on: [], off: [] };
  const p95s = { on: [], off: [] };
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? ['on', 'off'] : ['off', 'on']) {
      await indexing(side === 'on');
      const marker = `m${tag}${r}${side}z${randomBytes(3).toString('hex')}`;
      markers[side].push(marker);
      const samples = await shape(marker);
      (side === 'on' ? on : off).push(...samples);
      if (samples.rate) rates[side].push(samples.rate);
      p95s[side].push(stats(samples).p95);
    }
  }
  await indexing(true);
  return { on, off, markers, rates, p95s };
}

/** Every "on" marker found by the API's search and no "off" one: the switch held for every round. */
async function verify(base, token, guildId, markers) {
  const found = async (marker) => {
    const res = await call(base, 'GET', `/guilds/${guildId}/messages/search?content=${marker}`, token);
    if (res.status !== 200) throw new Error(`search answered ${res.status}`);
    return res.body.total_results > 0;
  };
  const missed = [];
  for (const m of markers.on) if (!(await found(m))) missed.push(`${m} (on) not found`);
  for (const m of markers.off) if (await found(m)) missed.push(`${m} (off) found`);
  return missed;
}

/** Measures one backend; resolves to the shape record (figures are recorded by runApi). */
export async function measureApi(backend, { rounds, seconds, highRate: highRateOf }) {
  const keyspace = `parley_bench_sapi_${process.pid}`;
  const d = await deploy(backend, keyspace);
  const base = d.server.url;
  let holders = null;
  try {
    const owner = d.members[0];
    for (let i = d.channelIds.length; i < CHANNELS; i++) {
      const res = await call(base, 'POST', `/guilds/${d.guildId}/channels`, owner.token, {
        name: `c${i}`,
        type: 0,
      });
      if (res.status !== 201 && res.status !== 200) throw new Error(`channel create answered ${res.status}`);
      d.channelIds.push(res.body.id);
    }
    holders = await startHolders(
      base,
      d.members.map((m) => m.token),
      { lifetimeMs: 30 * 60_000 },
    );
    const opened = await holders.openUpTo(d.members.length);
    if (opened.open < d.members.length)
      throw new Error(`${opened.open} of ${d.members.length} sessions opened`);

    const send = sender(base, d.members, d.channelIds);
    // Warm-up (JIT, caches, the Cassandra session's prepared statements), index on.
    await closedRound(send, 3, undefined);
    const rate = openRate();
    const highRate = highRateOf(rate);
    const t0 = performance.now();
    const loadBefore = loadavg().map((v) => round(v));
    const open = await interleaved(d.indexing, rounds, (m) => openRound(send, rate, seconds, m), 'o');
    const high = await interleaved(d.indexing, rounds, (m) => openRound(send, highRate, seconds, m), 'h');
    const closed = await interleaved(d.indexing, rounds, (m) => closedRound(send, seconds, m), 'c');
    const measuredS = (performance.now() - t0) / 1000;
    const missed = [];
    for (const run of [open, high, closed])
      missed.push(...(await verify(base, owner.token, d.guildId, run.markers)));
    // What the sessions got: every send is delivered to all of them (none dropped).
    const held = await holders.close();
    holders = null;
    const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
    // Each round's p95 too: how far one round strays from the next on this machine, whatever the index does.
    const side = (run) => ({
      index_on_ms: stats(run.on),
      index_off_ms: stats(run.off),
      round_p95_ms: run.p95s,
      round_p95_median_ms: { on: median(run.p95s.on), off: median(run.p95s.off) },
    });
    return {
      backend,
      channels: CHANNELS,
      posters: POSTERS,
      sessions: opened.open,
      deliveries: held.received,
      sessions_dropped: held.dropped,
      rounds_per_side: rounds,
      round_seconds: seconds,
      measured_seconds: round(measuredS, 1),
      load_average: { before: loadBefore, after: loadavg().map((v) => round(v)) },
      open_loop: { rate_per_s: round(rate), ...side(open) },
      open_loop_high: { rate_per_s: round(highRate), ...side(high) },
      closed_loop: {
        inflight: CLOSED_INFLIGHT,
        ...side(closed),
        rate_index_on: round(median(closed.rates.on)),
        rate_index_off: round(median(closed.rates.off)),
      },
      switch_check: missed.length === 0 ? 'held' : missed,
    };
  } finally {
    await holders?.close().catch(() => undefined);
    if (backend === 'sqlite') await d.release(); // before the server's directory goes
    await d.server.stop();
    if (backend === 'cassandra') await d.release();
  }
}

/** Runs the API figure of `backend` and records figures 19-<backend>-send-api(-open, -open-high). */
export async function runApi({ scale, figure, shapes, notes }, backend) {
  const label = backend === 'sqlite' ? 'SQLite' : 'one Cassandra node';
  const result = await measureApi(backend, {
    rounds: scale.searchApiRounds,
    seconds: scale.searchApiRoundSeconds,
    // `--scale=searchApiHighRate=<sends/s>`: the higher open-loop rate (default HIGH_FACTOR times the model's).
    highRate: (rate) => scale.searchApiHighRate || rate * HIGH_FACTOR,
  });
  shapes[`search-api-${backend}`] = result;
  if (result.switch_check !== 'held')
    notes.push(`19-${backend}-send-api: switch check: ${result.switch_check.join('; ')}`);
  const held = result.switch_check === 'held';
  // The target (p95 within 10 %) is judged at the capacity model's rate, a busy community's peak (itself 3x a
  // busy hour's average). 4x that rate and the closed loop (the server as fast as it answers) are stress shapes:
  // reported, with the closed loop's cost in capacity (sends/s on / off), and no target.
  const record = (id, what, s, extra, stress = false) => {
    const ratio = s.index_on_ms.p95 / s.index_off_ms.p95;
    figure(
      id,
      `${stress ? 'stress: ' : ''}API send p95 with the search index on / off, ${what}, ${label}`,
      round(ratio),
      'x',
      stress ? 'none (stress)' : '<=1.10',
      stress ? (held ? null : false) : held && ratio <= 1.1,
      {
        on_p50_ms: s.index_on_ms.p50,
        off_p50_ms: s.index_off_ms.p50,
        on_ms: s.index_on_ms.p95,
        off_ms: s.index_off_ms.p95,
        // Less moved by one stalled round than the pooled p95.
        round_p95_median_ratio: round(s.round_p95_median_ms.on / s.round_p95_median_ms.off),
        ...extra,
      },
    );
  };
  record(
    `19-${backend}-send-api`,
    `closed loop, ${CLOSED_INFLIGHT} in flight`,
    result.closed_loop,
    {
      rate_per_s: result.closed_loop.rate_index_on,
      rate_off_per_s: result.closed_loop.rate_index_off,
      capacity_ratio: round(result.closed_loop.rate_index_on / result.closed_loop.rate_index_off),
    },
    true,
  );
  record(
    `19-${backend}-send-api-open`,
    `open loop at ${Math.round(result.open_loop.rate_per_s)} sends/s`,
    result.open_loop,
    {
      rate_per_s: result.open_loop.rate_per_s,
    },
  );
  record(
    `19-${backend}-send-api-open-high`,
    `open loop at ${Math.round(result.open_loop_high.rate_per_s)} sends/s`,
    result.open_loop_high,
    { rate_per_s: result.open_loop_high.rate_per_s },
    true,
  );
}
