// Pending compactions of a local Cassandra node (scripts/cassandra), read with nodetool over the node's JMX port.
// A bulk load leaves minutes of compaction behind it, and the figures are about the node's steady state: the
// scale and search benches wait for it before timing anything.
'use strict';
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const COMMON = join(__dirname, '../../scripts/cassandra/common.sh');

/**
 * The JMX port of the node on `address`, as the node itself reports it (the system property its start script set,
 * scripts/cassandra/node.sh), or null if it cannot be asked; PARLEY_BENCH_CASSANDRA_JMX wins.
 */
async function jmxPortOf(address) {
  if (process.env.PARLEY_BENCH_CASSANDRA_JMX) return Number(process.env.PARLEY_BENCH_CASSANDRA_JMX);
  const { Client } = require('cassandra-driver');
  const client = new Client({ contactPoints: [address], localDataCenter: 'dc1' });
  try {
    const rs = await client.execute('SELECT value FROM system_views.system_properties WHERE name = ?', [
      'cassandra.jmx.local.port',
    ]);
    const port = Number(rs.first()?.get('value'));
    return Number.isInteger(port) && port > 0 ? port : null;
  } catch {
    return null;
  } finally {
    await client.shutdown();
  }
}

/** Compactions the node has pending (`nodetool compactionstats`), or null if nodetool could not tell. */
function pendingCompactions(jmxPort, env = process.env) {
  const run = spawnSync(
    'bash',
    ['-c', `. ${JSON.stringify(COMMON)} && nodetool ${jmxPort} compactionstats`],
    {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  const match = /pending tasks\s*:?\s*(\d+)/i.exec(run.stdout ?? '');
  return run.status === 0 && match ? Number(match[1]) : null;
}

/**
 * Waits, polling every 5 s, until the node has no compaction pending or `timeoutS` passed. Answers what it saw
 * (`pending_at_start` null: no JMX port, or nodetool could not reach the node, and nothing was waited for).
 */
async function waitForCompactions(jmxPort, timeoutS, env = process.env) {
  const t0 = performance.now();
  const first = jmxPort === null ? null : pendingCompactions(jmxPort, env);
  let pending = first;
  while (pending !== null && pending > 0 && performance.now() - t0 < timeoutS * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 5000)); // polling an external process, not a sync point
    pending = pendingCompactions(jmxPort, env);
  }
  return {
    jmx_port: jmxPort,
    pending_at_start: first,
    pending_at_end: pending,
    waited_s: Math.round((performance.now() - t0) / 1000),
  };
}

module.exports = { jmxPortOf, pendingCompactions, waitForCompactions };
