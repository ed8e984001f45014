// The scale figures' own Cassandra node: one node on a loopback address of its own (127.0.0.11, or
// PARLEY_SCALE_CASSANDRA_ADDRESS), its data under ~/.cache/parley/bench-scale/nodes (kept between runs: the
// dataset lives there), a 2 GiB heap (PARLEY_SCALE_CASSANDRA_HEAP), JMX on 7311. Never the shared test cluster on
// 127.0.0.1-3.
// The heap: while the node compacts the full dataset's bulk load, its live heap reaches ~470 MB (compaction's
// working set on top of memtables and caches). In 1 GiB that is above G1's marking threshold (45 %), so it marked
// every ~12 s, each cycle ending in a 30-40 ms Remark pause that landed in the history figures' p95. Once
// compaction is done the live heap is 130-150 MB at either size (docs/scaling.md). 2 GiB, what the other bench
// nodes have (scripts/cassandra/bench-node.sh), puts the compaction phase's ~470 MB at 23 %, under the threshold.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { homedir } = require('node:os');
const { join } = require('node:path');
const { waitForCompactions: waitForPending } = require('../lib/compactions.cjs');

const ROOT = join(__dirname, '../..');
const ADDRESS = process.env.PARLEY_SCALE_CASSANDRA_ADDRESS ?? '127.0.0.11';
const NAME = 'scale';
const NODES = join(homedir(), '.cache/parley/bench-scale/nodes');
const env = {
  ...process.env,
  PARLEY_CASSANDRA_NODES: NODES,
  PARLEY_CASSANDRA_HEAP: process.env.PARLEY_SCALE_CASSANDRA_HEAP ?? '2g',
};
const script = (name) => join(ROOT, 'scripts/cassandra', name);

/** Starts the node unless it runs, and waits for CQL (within `timeoutS`). Throws, saying why, if it cannot. */
async function startNode(timeoutS = 300) {
  const running =
    spawnSync('bash', [script('node.sh'), 'status', NAME], { env, stdio: 'ignore' }).status === 0;
  if (!running) {
    const start = spawnSync(
      'bash',
      [script('node.sh'), 'start', NAME, ADDRESS, 'dc1', 'rack1', `${ADDRESS}:7000`, '0', '7311'],
      { env, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    if (start.status !== 0) throw new Error(`scripts/cassandra/node.sh start ${NAME} exited ${start.status}`);
  }
  const dir = join(NODES, NAME);
  const code = await new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        script('wait-cql.js'),
        ADDRESS,
        'dc1',
        String(timeoutS),
        join(dir, 'cassandra.pid'),
        join(dir, 'logs/system.log'),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    child.once('exit', resolve);
  });
  if (code !== 0)
    throw new Error(`the scale node on ${ADDRESS}:9042 did not answer CQL within ${timeoutS} s`);
  return { address: ADDRESS, started: !running };
}

/** Waits until the scale node has no compaction pending or `timeoutS` passed (bench/lib/compactions.cjs). */
const waitForCompactions = (timeoutS) => waitForPending(7311, timeoutS, env);

function stopNode() {
  spawnSync('bash', [script('node.sh'), 'stop', NAME], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

module.exports = { ADDRESS, HEAP: env.PARLEY_CASSANDRA_HEAP, startNode, stopNode, waitForCompactions };
