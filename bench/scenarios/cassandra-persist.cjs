// Figure 7 on Cassandra: messages persisted per second through Parley's Cassandra driver (the compiled
// CassandraStorage: real schema, prepared statements, consistency per operation class from config, default
// LOCAL_QUORUM writes), in a process of its own, against the node answering on 127.0.0.1:9042.
//   node cassandra-persist.cjs <keyspace> <total> <maxSeconds> <inflight>
// Writes `total` messages (or as many as fit in `maxSeconds`) with `inflight` concurrent creates over 10
// channels, after an uncounted warm-up, and reports { per_s, ... , cpu } to its parent.
'use strict';
const { loadConfig } = require('../../dist/libs/config/src');
const { CassandraStorage } = require('../../dist/libs/storage/src');
const { cpuWindow, cassandraPids } = require('./cassandra-cpu.cjs');
const { messageWriter } = require('./persist-writer.cjs');

// Never outlives the orchestrator.
process.on('disconnect', () => process.exit(1));

async function main() {
  const [keyspace, totalArg, secondsArg, inflightArg] = process.argv.slice(2);
  const total = Number(totalArg ?? 20_000);
  const maxSeconds = Number(secondsArg ?? 60);
  const inflight = Number(inflightArg ?? 256);
  const env = { PARLEY__DATABASE__BACKEND: 'cassandra', PARLEY__DATABASE__CASSANDRA__KEYSPACE: keyspace };
  for (const [k, v] of Object.entries(process.env))
    if (k.startsWith('PARLEY__DATABASE__CASSANDRA__') && k !== 'PARLEY__DATABASE__CASSANDRA__KEYSPACE')
      env[k] = v;
  const settings = loadConfig({ env }).database.cassandra;
  const storage = new CassandraStorage(settings);
  try {
    await storage.migrate(); // creates the keyspace and tables on the first run, a no-op on the next ones
    // Every bounded loop: `count` creates or `seconds`, whichever comes first; errors are counted.
    const writer = messageWriter(storage, { inflight, node: 2 });
    const load = (count, seconds) => writer(count, { seconds, keepGoing: true });

    // Warm-up (not counted): prepares the statements, marks the channels' buckets, and lets the JIT of a
    // freshly started JVM compile the write path.
    await load(Math.min(5000, Math.ceil(total / 4)), 10);

    const cpu = cpuWindow(() => ({ cassandra: cassandraPids(), writer: [process.pid] }));
    const t0 = performance.now();
    const run = await load(total, maxSeconds);
    const seconds = (performance.now() - t0) / 1000;
    const usage = cpu.stop();
    const persisted = run.attempted - run.errors;
    process.send({
      per_s: Math.round(persisted / seconds),
      persisted,
      errors: run.errors,
      first_error: run.firstError,
      seconds: Math.round(seconds * 100) / 100,
      inflight,
      time_bound: run.attempted < total,
      consistency: settings.consistency.write,
      replication: settings.replication,
      pool_size: settings.pool_size,
      cpu: usage,
    });
  } finally {
    await storage.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
