// Helpers shared by the Cassandra figures: what the node answering on 127.0.0.1:9042 is and how it is set up
// (version, node count, commitlog sync, fsync), and dropping a bench keyspace.
'use strict';
const { Client } = require('cassandra-driver');

const HOST = process.env.PARLEY__DATABASE__CASSANDRA__HOSTS
  ? JSON.parse(process.env.PARLEY__DATABASE__CASSANDRA__HOSTS)[0]
  : '127.0.0.1';
const DC = process.env.PARLEY__DATABASE__CASSANDRA__LOCAL_DC ?? 'dc1';

function client() {
  return new Client({
    contactPoints: [HOST],
    localDataCenter: DC,
    socketOptions: { connectTimeout: 3000, readTimeout: 30_000 },
  });
}

/** The durability settings a persistence figure must state, read from the node itself. */
async function nodeInfo() {
  const c = client();
  try {
    await c.connect();
    const rs = await c.execute(
      "SELECT name, value FROM system_views.settings WHERE name IN ('commitlog_sync', 'commitlog_sync_period', 'commitlog_sync_group_window', 'concurrent_writes', 'memtable_allocation_type')",
    );
    const settings = Object.fromEntries(rs.rows.map((r) => [r.get('name'), r.get('value')]));
    const props = await c.execute('SELECT name, value FROM system_views.system_properties');
    const prop = (name) => props.rows.find((r) => r.get('name') === name)?.get('value');
    settings.skip_sync = prop('cassandra.skip_sync') === 'true'; // no fsync at all (test nodes)
    const local = (await c.execute('SELECT release_version, data_center FROM system.local')).first();
    const peers = (await c.execute('SELECT peer FROM system.peers')).rowLength;
    return {
      host: HOST,
      version: local.get('release_version'),
      data_center: local.get('data_center'),
      nodes: peers + 1,
      settings,
    };
  } finally {
    await c.shutdown().catch(() => undefined);
  }
}

/** "commitlog_sync=periodic 10000ms, no fsync (skip_sync)" */
function durability(info) {
  const s = info.settings;
  const period =
    s.commitlog_sync === 'periodic'
      ? ` ${s.commitlog_sync_period}`
      : s.commitlog_sync === 'group'
        ? ` ${s.commitlog_sync_group_window}`
        : '';
  return `commitlog_sync=${s.commitlog_sync}${period}${s.skip_sync ? ', no fsync (cassandra.skip_sync)' : ''}`;
}

async function dropKeyspace(keyspace) {
  if (!/^[a-z][a-z0-9_]*$/.test(keyspace)) throw new Error(`bad keyspace ${keyspace}`);
  const c = client();
  try {
    await c.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`);
  } finally {
    await c.shutdown().catch(() => undefined);
  }
}

/**
 * CQL requests the node has served per client connection (system_views.clients), keyed by address:port. The
 * difference of two snapshots over the connections present in both counts what long-lived clients (a Parley
 * server) sent in between; the short-lived connection that asks is not in both.
 */
async function cqlRequestCounts() {
  const c = client();
  try {
    const rs = await c.execute('SELECT address, port, request_count FROM system_views.clients');
    return Object.fromEntries(
      rs.rows.map((r) => [`${r.get('address')}:${r.get('port')}`, Number(r.get('request_count'))]),
    );
  } finally {
    await c.shutdown().catch(() => undefined);
  }
}

function cqlRequestsBetween(before, after) {
  let n = 0;
  for (const [k, v] of Object.entries(after)) if (k in before) n += v - before[k];
  return n;
}

/**
 * The node's own latency per table of `keyspace` (system_views.coordinator_read_latency / _write_latency:
 * decaying histograms, so they describe the last minutes): what the node spends, without the client, the
 * network stack and the driver. { table: { read: {p50_ms, p99_ms, max_ms, count}, write: {...} } }
 * Cassandra 5.0.8 fills the `*_ms` columns of these tables with seconds (checked against `nodetool
 * tablehistograms`, which prints microseconds: a max of 1331 us showed as max_ms 0.001), rounded to 3
 * decimals; they are converted to milliseconds here, so their resolution is 1 ms.
 */
async function tableLatencies(keyspace, tables) {
  const c = client();
  const out = {};
  try {
    for (const [kind, view] of [
      ['read', 'coordinator_read_latency'],
      ['write', 'coordinator_write_latency'],
    ]) {
      const rs = await c.execute(
        `SELECT table_name, count, p50th_ms, p99th_ms, max_ms FROM system_views.${view} WHERE keyspace_name = ?`,
        [keyspace],
      );
      for (const r of rs.rows) {
        const table = r.get('table_name');
        if (!tables.includes(table) || Number(r.get('count')) === 0) continue;
        const ms = (col) => Math.round(r.get(col) * 1000 * 100) / 100;
        (out[table] ??= {})[kind] = {
          p50_ms: ms('p50th_ms'),
          p99_ms: ms('p99th_ms'),
          max_ms: ms('max_ms'),
          count: Number(r.get('count')),
        };
      }
    }
    return out;
  } catch (err) {
    return { error: String(err?.message ?? err) };
  } finally {
    await c.shutdown().catch(() => undefined);
  }
}

module.exports = {
  HOST,
  DC,
  nodeInfo,
  durability,
  dropKeyspace,
  cqlRequestCounts,
  cqlRequestsBetween,
  tableLatencies,
};
