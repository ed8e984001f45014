// Message search figures (docs/search.md), through the storage drivers in a process of their own:
// `node search-worker.cjs sqlite|cassandra <messages> <keyspace?> <compaction wait, s?>`. Seeds a guild of 50 channels with the bulk
// writer (the path `parley migrate` / `import` take), then measures search latency over all 50 channels, the lag
// between a send resolving and the message being found, and send latency with the index on and off, closed loop
// (SEND_INFLIGHT in flight) and open loop (a fixed rate: half the closed loop's throughput with the index on).
// Cassandra: the node on PARLEY_BENCH_CASSANDRA (default 127.0.0.1; scripts/cassandra/bench-node.sh starts a
// dedicated one on 127.0.0.10). PARLEY_BENCH_SEARCH_KEEP=1 keeps the seeded keyspace (named after the message
// count) and reuses it on the next run instead of seeding again; the queries are the same either way. Before
// timing anything on Cassandra the run waits for the node's pending compactions (bench/lib/compactions.cjs), as
// the scale bench does: a fresh seed leaves minutes of them, and the figures are the node's steady state. Without
// IPC (run by hand) the result is printed as JSON.
'use strict';
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { SnowflakeGenerator } = require('../../dist/libs/common/src');
const { openSqlite } = require('../lib/sqlite.cjs');
const { VOCABULARY, zipfWord } = require('../lib/vocabulary.cjs');
const { jmxPortOf, waitForCompactions } = require('../lib/compactions.cjs');

const CHANNELS = 50;
const SEARCHES = 300;
const SENDS = 2000;
const SEND_INFLIGHT = 16;
// Open-loop rounds: at most this many sends, or this long, per round (three rounds with the index on, three off).
const OPEN_SENDS = 1500;
const OPEN_ROUND_MS = 20_000;

let seed = 1919;
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const word = () => zipfWord(random);

const p = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))];
const stats = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: round(p(sorted, 50)),
    p95: round(p(sorted, 95)),
    p99: round(p(sorted, 99)),
    n: sorted.length,
  };
};
const round = (v) => Math.round(v * 100) / 100;

async function open(backend, keyspace, compactionWaitS) {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'parley-search-bench-'));
    const storage = openSqlite(join(dir, 's.db'));
    await storage.migrate();
    return {
      storage,
      seeded: async () => false,
      markSeeded: async () => undefined,
      settle: async () => null,
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const { CassandraStorage } = require('../../dist/libs/storage/src');
  const { loadConfig } = require('../../dist/libs/config/src');
  const host = process.env.PARLEY_BENCH_CASSANDRA || '127.0.0.1';
  const config = loadConfig({
    env: {},
    overrides: { database: { cassandra: { hosts: [host], keyspace, replication: { dc1: 1 } } } },
  });
  let storage = new CassandraStorage(config.database.cassandra);
  // A fresh keyspace can be missing on the session's connections until the cluster agrees on the schema:
  // migrate is idempotent, so a failed first attempt is repeated with a new session.
  for (let attempt = 1; ; attempt++) {
    try {
      await storage.migrate();
      break;
    } catch (err) {
      if (attempt >= 5) throw err;
      await storage.close();
      storage = new CassandraStorage(config.database.cassandra);
    }
  }
  const session = storage.session;
  return {
    storage,
    // A kept keyspace records its finished seed, so a run interrupted while seeding is seeded again.
    seeded: async (total) => {
      if (!KEEP) return false;
      await session.execute('write', SEED_TABLE, [], { idempotent: true });
      const rs = await session.execute('read', 'SELECT messages FROM bench_seed WHERE id = 1', [], {
        idempotent: true,
      });
      return rs.first()?.get('messages') === total;
    },
    markSeeded: async (total) => {
      if (!KEEP) return;
      await session.execute('write', 'INSERT INTO bench_seed (id, messages) VALUES (1, ?)', [total], {
        idempotent: true,
      });
    },
    settle: async () => waitForCompactions(await jmxPortOf(host), compactionWaitS),
    cleanup: async () => {
      if (KEEP) return;
      const cassandra = require('cassandra-driver');
      const client = new cassandra.Client({ contactPoints: [host], localDataCenter: 'dc1' });
      await client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`).catch(() => undefined);
      await client.shutdown();
    },
  };
}

const KEEP = process.env.PARLEY_BENCH_SEARCH_KEEP === '1';
// Resumes a kept keyspace's interrupted seed (the node stopped): messages before this index are already written
// (the batches go in order), so only the rest are.
const SEED_FROM = Number(process.env.PARLEY_BENCH_SEARCH_SEED_FROM || 0);
// The seeded history's first day (90 days of it): fixed, see main().
const SEED_START = Date.UTC(2026, 0, 1);
const SEED_TABLE = 'CREATE TABLE IF NOT EXISTS bench_seed (id int PRIMARY KEY, messages int)';

async function main() {
  const [backend, countArg, keyspaceArg, waitArg] = process.argv.slice(2);
  const total = Number(countArg);
  const keyspace = KEEP ? `parley_bench_search_${total}` : keyspaceArg;
  const { storage, seeded, markSeeded, settle, cleanup } = await open(
    backend,
    keyspace,
    Number(waitArg ?? 900),
  );
  const reuse = await seeded(total);
  // Ids and times come from a fixed clock, so a kept keyspace is searched under the guild and channels it was
  // seeded with (ids minted from Date.now() named a new, empty guild on every reuse).
  const ids = new SnowflakeGenerator(0, 3, () => SEED_START);
  const guildId = ids.next();
  const channels = Array.from({ length: CHANNELS }, () => ids.next());
  const authors = Array.from({ length: 200 }, () => ids.next());
  // The lag and send rounds write to a guild of their own, so a kept keyspace's searched guild stays exactly
  // the seeded `total` messages run after run (its 12,000 sends per run would otherwise pile up in the newest
  // bucket, where every whole-guild search starts).
  const sendGuildId = ids.next();
  const sendChannels = Array.from({ length: CHANNELS }, () => ids.next());
  // Spread over 90 days: several 10-day buckets per channel on Cassandra.
  const start = SEED_START;
  const message = (i, at, content, guild = guildId, guildChannels = channels) => ({
    id: new SnowflakeGenerator(1, i % 128, () => at).next(),
    channelId: guildChannels[i % CHANNELS],
    guildId: guild,
    authorId: authors[i % authors.length],
    content,
    editedAt: null,
    attachments: [],
    mentions: [],
    mentionRoles: [],
    mentionEveryone: false,
    pinned: false,
    type: 0,
    nonce: null,
    referenceId: null,
    embeds: [],
    flags: 0,
  });

  const t0 = performance.now();
  const BATCH = 2000;
  for (let i = 0; i < total; i += BATCH) {
    const records = [];
    for (let j = i; j < Math.min(total, i + BATCH); j++) {
      const at = start + Math.floor((j / total) * 90 * 24 * 3600_000);
      records.push(message(j, at, Array.from({ length: 4 + Math.floor(random() * 10) }, word).join(' ')));
    }
    // A reused keyspace holds these already; generating them keeps the random sequence (the queries) the same.
    if (!reuse && i + BATCH > SEED_FROM) await storage.bulk.write('messages', records);
  }
  const seedSeconds = (performance.now() - t0) / 1000;
  if (!reuse) await markSeeded(total);
  const compactions = await settle();

  // Queries: one word from the middle of the vocabulary, two words, a phrase of two common words, a prefix.
  const queries = [];
  for (let i = 0; i < SEARCHES; i++) {
    const kind = i % 4;
    const w = () => VOCABULARY[50 + Math.floor(random() * 2000)];
    const terms =
      kind === 0
        ? [{ tokens: [w()], prefix: false }]
        : kind === 1
          ? [
              { tokens: [VOCABULARY[Math.floor(random() * 20)]], prefix: false },
              { tokens: [w()], prefix: false },
            ]
          : kind === 2
            ? [
                {
                  tokens: [VOCABULARY[Math.floor(random() * 10)], VOCABULARY[Math.floor(random() * 10)]],
                  prefix: false,
                },
              ]
            : [{ tokens: [w().slice(0, 3)], prefix: true }];
    queries.push(terms);
  }
  const query = (terms) => ({
    guildId,
    channelIds: channels,
    terms,
    authorIds: [],
    mentions: [],
    has: [],
    offset: 0,
    limit: 25,
  });
  for (const terms of queries.slice(0, 20)) await storage.messageSearch.search(query(terms)); // warm-up
  const searchMs = [];
  const byKind = { word: [], two_words: [], phrase: [], prefix: [] };
  const kinds = Object.keys(byKind);
  let hits = 0;
  for (const [i, terms] of queries.entries()) {
    const s = performance.now();
    const result = await storage.messageSearch.search(query(terms));
    searchMs.push(performance.now() - s);
    byKind[kinds[i % 4]].push(performance.now() - s);
    hits += result.total;
  }

  // One channel (a DM, or `in:#channel`): the same queries over a single channel's history.
  const channelMs = [];
  const channelByKind = { word: [], two_words: [], phrase: [], prefix: [] };
  for (const [i, terms] of queries.slice(0, 100).entries()) {
    const s = performance.now();
    await storage.messageSearch.search({ ...query(terms), channelIds: [channels[i % CHANNELS]] });
    channelMs.push(performance.now() - s);
    channelByKind[kinds[i % 4]].push(performance.now() - s);
  }

  // Index lag: a send resolves, then poll a search of its channel until it finds the message's unique word.
  const lagMs = [];
  for (let i = 0; i < 20; i++) {
    const unique = `lag${i}z${Date.now().toString(36)}`;
    const m = message(total + i, Date.now(), `fresh message ${unique}`, sendGuildId, sendChannels);
    await storage.messages.create(m);
    const s = performance.now();
    for (;;) {
      const found = await storage.messageSearch.search({
        ...query([{ tokens: [unique], prefix: false }]),
        guildId: sendGuildId,
        channelIds: [m.channelId],
      });
      if (found.total > 0) break;
      if (performance.now() - s > 10_000) throw new Error(`${unique} not found within 10 s`);
    }
    lagMs.push(performance.now() - s);
  }

  const sendMessage = (i) =>
    message(i, Date.now(), Array.from({ length: 8 }, word).join(' '), sendGuildId, sendChannels);
  // Send latency, closed loop (SEND_INFLIGHT at a time), with the index and without it (alternating rounds).
  async function sends(label, offset) {
    const samples = [];
    let next = 0;
    const t = performance.now();
    await Promise.all(
      Array.from({ length: SEND_INFLIGHT }, async () => {
        while (next < SENDS) {
          const m = sendMessage(offset + next++);
          const s = performance.now();
          await storage.messages.create(m);
          samples.push(performance.now() - s);
        }
      }),
    );
    return { label, samples, rate: SENDS / ((performance.now() - t) / 1000) };
  }
  // Send latency, open loop: sends start at a fixed rate whether or not earlier ones have finished, as users'
  // sends do, and each is timed from when it was due (so a stalled node counts against every send it delays).
  // At most OPEN_SENDS sends or OPEN_ROUND_MS per round.
  async function openSends(rate, offset) {
    const samples = [];
    const pending = [];
    const interval = 1000 / rate;
    const t = performance.now();
    let issued = 0;
    while (issued < OPEN_SENDS && performance.now() - t < OPEN_ROUND_MS) {
      const now = performance.now();
      for (; issued < OPEN_SENDS && t + issued * interval <= now; issued++) {
        const due = t + issued * interval;
        const m = sendMessage(offset + issued);
        pending.push(storage.messages.create(m).then(() => samples.push(performance.now() - due)));
      }
      // Pacing, not synchronisation: wait for the next send's start time.
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(0, t + issued * interval - performance.now())),
      );
    }
    await Promise.all(pending);
    return { samples, issued };
  }
  const indexOff = await indexSwitch(backend, storage);
  const on = [];
  const off = [];
  const onRates = [];
  const offRates = [];
  for (let round = 0; round < 3; round++) {
    await indexOff(false);
    const indexed = await sends('on', total + 1000 + round * 2 * SENDS);
    on.push(...indexed.samples);
    onRates.push(indexed.rate);
    await indexOff(true);
    const unindexed = await sends('off', total + 1000 + (round * 2 + 1) * SENDS);
    off.push(...unindexed.samples);
    offRates.push(unindexed.rate);
  }
  // The open-loop rate: PARLEY_BENCH_SEARCH_OPEN_RATE, or half the closed loop's throughput with the index on
  // (the median round), well below what the node sustains with it.
  const medianOf = (rates) => [...rates].sort((a, b) => a - b)[1];
  const closedRate = medianOf(onRates);
  const openRate = Number(process.env.PARLEY_BENCH_SEARCH_OPEN_RATE || 0) || Math.max(1, closedRate / 2);
  const openOn = [];
  const openOff = [];
  let openIssued = 0;
  for (let round = 0; round < 3; round++) {
    const base = total + 1000 + 6 * SENDS + round * 2 * OPEN_SENDS;
    await indexOff(round % 2 === 1);
    const first = await openSends(openRate, base);
    await indexOff(round % 2 === 0);
    const second = await openSends(openRate, base + OPEN_SENDS);
    (round % 2 === 1 ? openOff : openOn).push(...first.samples);
    (round % 2 === 1 ? openOn : openOff).push(...second.samples);
    openIssued += first.issued + second.issued;
  }
  await indexOff(false);

  await storage.close();
  await cleanup();
  const result = {
    backend,
    messages: total,
    channels: CHANNELS,
    seed_seconds: reuse ? null : round(seedSeconds),
    reused_keyspace: reuse,
    compactions,
    search_ms: stats(searchMs),
    search_ms_by_kind: Object.fromEntries(kinds.map((k) => [k, stats(byKind[k])])),
    mean_hits: round(hits / SEARCHES),
    channel_search_ms: stats(channelMs),
    channel_search_ms_by_kind: Object.fromEntries(kinds.map((k) => [k, stats(channelByKind[k])])),
    index_lag_ms: stats(lagMs),
    send_ms_index_on: stats(on),
    send_ms_index_off: stats(off),
    send_rate_index_on: round(closedRate),
    send_rate_index_off: round(medianOf(offRates)),
    open_loop: {
      rate_per_s: round(openRate),
      sends: openIssued,
      send_ms_index_on: stats(openOn),
      send_ms_index_off: stats(openOff),
    },
  };
  if (process.send) process.send(result);
  else console.log(JSON.stringify(result, null, 2));
}

/**
 * Turns indexing off and on for the send comparison. SQLite: the FTS insert trigger is dropped and recreated.
 * Cassandra: the repository's posting writer is switched off, so "off" is the same send (message, bucket
 * marker, last message id) without the posting and its day marker.
 */
async function indexSwitch(backend, storage) {
  if (backend === 'sqlite') {
    const db = storage.db.raw;
    const create = db
      .prepare("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_fts_insert'")
      .get().sql;
    return async (off) => {
      storage.messages.flush();
      db.exec('DROP TRIGGER IF EXISTS messages_fts_insert');
      if (!off) db.exec(create);
    };
  }
  return async (off) => {
    storage.messages.postings.enabled = !off;
  };
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
