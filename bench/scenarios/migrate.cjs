// Figure 8: SQLite -> Cassandra migration rate, verified. A sample community is written into a fresh SQLite
// file through the repositories, then `parley migrate` (the compiled CLI, as an operator runs it) copies it
// into a fresh keyspace on the local node and verifies it. A few changes are then made to the source and
// the command run again: that second run is the maintenance window's final delta. Runs in a process of its
// own; reports { skipped } when no Cassandra node answers.
'use strict';
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { randomBytes } = require('node:crypto');
const { Client } = require('cassandra-driver');

const ROOT = join(__dirname, '../..');
const HOST = process.env.PARLEY__DATABASE__CASSANDRA__HOSTS
  ? JSON.parse(process.env.PARLEY__DATABASE__CASSANDRA__HOSTS)[0]
  : '127.0.0.1';

async function nodeSettings() {
  const client = new Client({
    contactPoints: [HOST],
    localDataCenter: 'dc1',
    socketOptions: { connectTimeout: 3000 },
  });
  try {
    await client.connect();
    const rs = await client.execute(
      "SELECT name, value FROM system_views.settings WHERE name IN ('commitlog_sync', 'commitlog_sync_period', 'commitlog_sync_period_in_ms')",
    );
    const settings = Object.fromEntries(rs.rows.map((r) => [r.get('name'), r.get('value')]));
    const version = (await client.execute('SELECT release_version FROM system.local'))
      .first()
      .get('release_version');
    const peers = (await client.execute('SELECT peer FROM system.peers')).rowLength;
    return { settings, version, nodes: peers + 1 };
  } finally {
    await client.shutdown().catch(() => undefined);
  }
}

function cli(args, env) {
  const started = performance.now();
  const run = spawnSync(process.execPath, [join(ROOT, 'dist/apps/cli/src/main.js'), ...args], {
    cwd: ROOT,
    env: { ...process.env, PARLEY__LOGGING__LEVEL: 'warn', ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = (performance.now() - started) / 1000;
  if (run.status !== 0) throw new Error(`parley ${args[0]} exited ${run.status}: ${run.stderr.slice(-2000)}`);
  return { seconds, stdout: run.stdout, stderr: run.stderr };
}

async function main() {
  const messages = Number(process.argv[2] ?? 50000);
  let node;
  try {
    node = await nodeSettings();
  } catch (err) {
    process.send({
      skipped: `no Cassandra node answers on ${HOST}:9042 (npm run cassandra:up): ${err.message}`,
    });
    return;
  }
  const { openSqlite } = require('../lib/sqlite.cjs');
  const { seedCommunity } = require('../../dist/libs/migration/src');
  const dir = mkdtempSync(join(tmpdir(), 'parley-migrate-bench-'));
  const path = join(dir, 'source.db');
  const keyspace = `parley_bench_${randomBytes(4).toString('hex')}`;
  const sqlite = () => openSqlite(path);
  const env = { PARLEY__DATABASE__BACKEND: 'cassandra', PARLEY__DATABASE__CASSANDRA__KEYSPACE: keyspace };
  try {
    let storage = sqlite();
    await storage.migrate();
    const sample = await seedCommunity(storage, {
      users: 500,
      guilds: 5,
      channels: 8,
      messages,
      dms: 50,
      days: 120,
    });
    await storage.close();

    // The schema first (keyspace and tables take a while to agree on a cluster), so the copy is timed alone.
    cli(['schema', 'migrate'], env);
    const report = join(dir, 'bulk.json');
    const bulk = cli(['migrate', '--from', `sqlite:${path}`, '--report', report], env);
    const result = JSON.parse(readFileSync(report, 'utf8'));
    if (!result.verified) throw new Error('the migration did not verify');
    const copied = result.copy.reduce((n, t) => n + t.copied, 0);
    const copySeconds = result.copy.reduce((n, t) => n + t.seconds, 0);

    // The final delta: 1% of the messages changed (half edited, half reacted to), then migrate again: the run
    // a maintenance window has to wait for.
    storage = sqlite();
    const delta = Math.max(10, Math.floor(messages / 100));
    let changed = 0;
    for (const channelId of sample.channels) {
      for (const [i, m] of (await storage.messages.listLatest(channelId, delta - changed)).entries()) {
        if (i % 2)
          await storage.messages.update(channelId, m.id, {
            content: `edited in the window ${i}`,
            editedAt: Date.now(),
          });
        else await storage.reactions.add(channelId, m.id, '🚀', sample.users[i % sample.users.length]);
        changed++;
      }
      if (changed >= delta) break;
    }
    await storage.close();
    const windowReport = join(dir, 'window.json');
    const window = cli(['migrate', '--from', `sqlite:${path}`, '--report', windowReport], env);
    const final = JSON.parse(readFileSync(windowReport, 'utf8'));

    process.send({
      messages: sample.messages,
      messages_per_s: Math.round(result.messages_per_second),
      rows_per_s: Math.round(copied / copySeconds),
      rows: copied,
      copy_seconds: Math.round(copySeconds * 10) / 10,
      verify_seconds: Math.round(result.comparison.seconds * 10) / 10,
      end_to_end_seconds: Math.round(bulk.seconds * 10) / 10,
      verified: result.verified && final.verified,
      window: {
        changed_rows: changed,
        seconds: Math.round(window.seconds * 10) / 10,
        repaired: final.repaired.reduce((n, r) => n + r.written + r.removed, 0),
      },
      cassandra: node,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    const client = new Client({ contactPoints: [HOST], localDataCenter: 'dc1' });
    await client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`).catch(() => undefined);
    await client.shutdown().catch(() => undefined);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
