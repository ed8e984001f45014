// Reactions on a viral message (docs/cassandra.md, "Reactions"), through the storage drivers in a process of
// their own: `node reactions-worker.cjs sqlite|cassandra <reactions> <keyspace?>`. Seeds one message of a
// 50-message page with <reactions> reactors, then measures adding a reaction to it against adding one to a
// fresh message (the materialised counts make both the same), and the counts read of the whole page.
'use strict';
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { SnowflakeGenerator } = require('../../dist/libs/common/src');
const { openSqlite } = require('../lib/sqlite.cjs');

const PAGE = 50;
const SAMPLES = 300;
const SEED_INFLIGHT = 32;

const round = (v) => Math.round(v * 100) / 100;
function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor((q / 100) * sorted.length))];
  return { p50: round(at(50)), p95: round(at(95)), p99: round(at(99)), n: sorted.length };
}

async function open(backend, keyspace) {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'parley-reactions-bench-'));
    const storage = openSqlite(join(dir, 'r.db'));
    await storage.migrate();
    return { storage, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const { CassandraStorage } = require('../../dist/libs/storage/src');
  const { loadConfig } = require('../../dist/libs/config/src');
  const config = loadConfig({
    env: {},
    overrides: { database: { cassandra: { keyspace, replication: { dc1: 1 } } } },
  });
  let storage = new CassandraStorage(config.database.cassandra);
  // A fresh keyspace may be missing on some connections until the schema agrees: migrate again, new session.
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
  return {
    storage,
    cleanup: async () => {
      const cassandra = require('cassandra-driver');
      const client = new cassandra.Client({ contactPoints: ['127.0.0.1'], localDataCenter: 'dc1' });
      await client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`).catch(() => undefined);
      await client.shutdown();
    },
  };
}

async function timed(n, fn) {
  const samples = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  return stats(samples);
}

async function main() {
  const [backend, countArg, keyspace] = process.argv.slice(2);
  const reactors = Number(countArg);
  const { storage, cleanup } = await open(backend, keyspace);
  try {
    const ids = new SnowflakeGenerator(0, 5);
    const channel = ids.next();
    const page = Array.from({ length: PAGE }, () => ids.next());
    for (const id of page)
      await storage.messages.create({
        id,
        channelId: channel,
        guildId: null,
        authorId: '1',
        content: 'm',
        editedAt: null,
        attachments: [],
        mentions: [],
        mentionEveryone: false,
        pinned: false,
        type: 0,
        nonce: null,
        referenceId: null,
      });
    const [viral, fresh] = [page[PAGE - 1], page[0]];
    const seeded = Date.now();
    const fans = Array.from({ length: reactors }, () => ids.next());
    for (let i = 0; i < fans.length; i += SEED_INFLIGHT)
      await Promise.all(
        fans.slice(i, i + SEED_INFLIGHT).map((user) => storage.reactions.add(channel, viral, '😂', user)),
      );
    const seedSeconds = (Date.now() - seeded) / 1000;
    const viralAdd = await timed(SAMPLES, () => storage.reactions.add(channel, viral, '😂', ids.next()));
    const freshAdd = await timed(SAMPLES, (i) =>
      storage.reactions.add(channel, fresh, `e${i % 20}`, ids.next()),
    );
    const pageCounts = await timed(SAMPLES, () => storage.reactions.counts(channel, page, fans[0]));
    const counted = (await storage.reactions.counts(channel, [viral], fans[0]))[0]?.count;
    if (counted !== reactors + SAMPLES)
      throw new Error(`viral count ${counted}, expected ${reactors + SAMPLES}`);
    process.send({
      reactors,
      seed_seconds: round(seedSeconds),
      react_viral_ms: viralAdd,
      react_fresh_ms: freshAdd,
      page_counts_ms: pageCounts,
    });
  } finally {
    await storage.close();
    await cleanup();
  }
}

main().catch((err) => {
  process.stderr.write(`reactions worker: ${err.stack ?? err}\n`);
  process.exit(1);
});
