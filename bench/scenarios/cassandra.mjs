// Cassandra figures: 6 (history on Cassandra), 7 (persisted/s on one node at LOCAL_QUORUM) and 8 (migration).
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { median, round } from '../lib/hist.mjs';
import { ROOT } from '../lib/server.mjs';

export async function run(ctx) {
  await migration(ctx);
}

/**
 * Figure 8: `parley migrate` from SQLite into a fresh keyspace on the local Cassandra node, verified, and the
 * final-delta run that a maintenance window takes. Only when a node answers on 127.0.0.1:9042; otherwise the
 * figure is reported as not measured.
 */
async function migration({ scale, figure }) {
  const runs = [];
  for (let i = 0; i < scale.repeats; i++) {
    const result = await new Promise((resolve, reject) => {
      const child = fork(join(ROOT, 'bench/scenarios/migrate.cjs'), [String(scale.migrate)], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.once('message', resolve);
      child.once('exit', (code) => code && reject(new Error(`migrate exited ${code}`)));
    });
    if (result.skipped) {
      figure(8, 'SQLite -> Cassandra migration rate, verified', 'not measured', '', '>=20000 msg/s', null, {
        reason: result.skipped,
      });
      return;
    }
    runs.push(result);
  }
  const rate = median(runs.map((r) => r.messages_per_s));
  const verified = runs.every((r) => r.verified);
  const last = runs[runs.length - 1];
  const sync = last.cassandra.settings;
  figure(
    8,
    `SQLite -> Cassandra migration rate, verified (${last.cassandra.nodes} node(s), commitlog_sync=${sync.commitlog_sync} ${sync.commitlog_sync_period ?? ''})`,
    round(rate, 0),
    'msg/s',
    '>=20000 msg/s',
    verified && rate >= 20_000,
    {
      runs: runs.map((r) => r.messages_per_s),
      verified,
      messages: last.messages,
      all_tables_rows_per_s: median(runs.map((r) => r.rows_per_s)),
      verify_seconds: median(runs.map((r) => r.verify_seconds)),
      end_to_end_seconds: median(runs.map((r) => r.end_to_end_seconds)),
      window: last.window,
      cassandra: last.cassandra,
    },
  );
}
