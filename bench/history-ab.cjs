// A/B of two builds' Cassandra history read path in one process, on the scale dataset (bench/scenarios/scale.mjs):
//   node bench/history-ab.cjs <distA> <distB> [samples=500] [members=5000] [messages=250000] [reactions=5000]
// Each build's @parley/storage opens its own session to the scale node (PARLEY_SCALE_CASSANDRA_ADDRESS, default
// 127.0.0.11, which must be up with the dataset: `scaleSqlite=0,scalePurge=0` runs of the scale bench leave it) and
// reads what a history request reads from storage: the page (listLatest / listBefore / listAround) and its reaction
// counts with the reader's own reactions. The two builds take turns call by call (A B, then B A), so whatever else
// loads the machine meanwhile falls on both alike: on a shared machine only such interleaved figures compare.
// Reports statements per page (counted on each build's driver client) and p50 / p95 / p99 per build.
'use strict';
const { AsyncLocalStorage } = require('node:async_hooks');
const { resolve, join } = require('node:path');
const { planOf, idsFor, layout } = require('./scenarios/scale-dataset.cjs');

const [distA, distB, samplesArg, members, messages, reactions] = process.argv.slice(2);
if (!distA || !distB) {
  console.error(
    'usage: node bench/history-ab.cjs <distA> <distB> [samples] [members] [messages] [reactions]',
  );
  process.exit(2);
}
const SAMPLES = Number(samplesArg ?? 500);
const ADDRESS = process.env.PARLEY_SCALE_CASSANDRA_ADDRESS ?? '127.0.0.11';
const plan = planOf({
  members: Number(members ?? 5000),
  messages: Number(messages ?? 250_000),
  reactions: Number(reactions ?? 5000),
  guilds: 100,
  channels: 50,
  samples: 400,
});
const keyspace = `parley_scale_${plan.key.replace(/[^a-z0-9]/g, '_')}`;
const scope = new AsyncLocalStorage();

async function open(dist) {
  const root = resolve(dist);
  const { loadConfig } = require(join(root, 'libs/config/src'));
  const { CassandraStorage } = require(join(root, 'libs/storage/src'));
  const settings = loadConfig({
    env: {},
    cwd: join(__dirname, '..'),
    overrides: {
      database: {
        backend: 'cassandra',
        cassandra: { hosts: [ADDRESS], keyspace, replication: { dc1: 1 } },
      },
      logging: { level: 'warn' },
    },
  }).database.cassandra;
  const storage = new CassandraStorage(settings);
  const client = storage.session.client;
  const execute = client.execute;
  client.execute = function (...a) {
    const box = scope.getStore();
    if (box) box.n++;
    return execute.apply(this, a);
  };
  return { name: dist, storage, epoch: require(join(root, 'libs/common/src')).snowflakeEpoch() };
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] * 100) / 100;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
};

async function main() {
  const builds = [await open(distA), await open(distB)];
  const ids = idsFor(builds[0].epoch);
  const who = layout(plan, ids);
  const channel = who.bigChannel;
  const span = plan.messages;
  const pages = {
    newest: (m) => m.listLatest(channel, 50),
    years_back: (m) => m.listBefore(channel, ids.big(Math.floor(span / 8), plan.messages), 50),
    around_viral: (m) => m.listAround(channel, who.viral, 50),
    around_old: (m) => m.listAround(channel, ids.big(Math.floor(span / 4), plan.messages), 50),
  };
  const call = async (build, page) => {
    const box = { n: 0 };
    const t0 = performance.now();
    await scope.run(box, async () => {
      const list = await page(build.storage.messages);
      await build.storage.reactions.counts(
        channel,
        list.map((x) => x.id),
        who.reader,
      );
    });
    return { ms: performance.now() - t0, n: box.n };
  };
  const out = { dataset: plan.key, address: ADDRESS, samples: SAMPLES, load: require('node:os').loadavg() };
  for (const [name, page] of Object.entries(pages)) {
    const runs = builds.map(() => []);
    for (const b of builds) for (let i = 0; i < 5; i++) await call(b, page);
    for (let i = 0; i < SAMPLES; i++) {
      const order = i % 2 === 0 ? [0, 1] : [1, 0];
      for (const k of order) runs[k].push(await call(builds[k], page));
    }
    out[name] = Object.fromEntries(
      builds.map((b, k) => [
        k === 0 ? 'A' : 'B',
        {
          statements: `${Math.min(...runs[k].map((r) => r.n))}-${Math.max(...runs[k].map((r) => r.n))}`,
          ...stats(runs[k].map((r) => r.ms)),
        },
      ]),
    );
  }
  out.load_after = require('node:os').loadavg();
  console.log(JSON.stringify(out, null, 1));
  for (const b of builds) await b.storage.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
