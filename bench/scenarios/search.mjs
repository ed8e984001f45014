// Message search (docs/search.md): on `scale.searchSqlite` / `scale.searchCassandra` messages in a guild of 50
// channels, search p95 over all channels, index lag after a send, send p95 with the index on and off (closed loop,
// and open loop at half the closed loop's throughput). Each backend in a worker process of its own
// (search-worker.cjs). Cassandra: the node answering on 127.0.0.1:9042, or
// on PARLEY_BENCH_CASSANDRA (a dedicated node: scripts/cassandra/bench-node.sh), a keyspace of its own, dropped
// afterwards unless PARLEY_BENCH_SEARCH_KEEP=1 (then kept and reused by the next run of the same size).
// Then, per backend, the send figure at the API (search-api.mjs): a real monolith, `POST /channels/:id/messages`
// with indexing on and off in interleaved rounds. `--scale=searchStorage=0` leaves the storage-level figures
// out (the API figure alone), `--scale=searchApiRounds=0` the API figure.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../lib/server.mjs';
import { runApi } from './search-api.mjs';

function worker(args) {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'bench/scenarios/search-worker.cjs'), args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', resolve);
    child.once('exit', (code) => code && reject(new Error(`search worker ${args[0]} exited ${code}`)));
  });
}

export async function run(ctx) {
  const { scale } = ctx;
  if (scale.searchStorage) await runStorage(ctx);
  if (scale.searchApiRounds > 0)
    for (const [backend, count] of [
      ['sqlite', scale.searchSqlite],
      ['cassandra', scale.searchCassandra],
    ])
      if (count > 0) await runApi(ctx, backend);
}

async function runStorage({ scale, figure, shapes }) {
  const backends = [
    ['sqlite', scale.searchSqlite, 'search-sqlite', 50],
    ['cassandra', scale.searchCassandra, 'search-cassandra', 100],
  ];
  for (const [backend, count, name, target] of backends) {
    if (count === 0) continue; // --scale=searchSqlite=0 (or searchCassandra=0) runs the other backend only
    const result = await worker([
      backend,
      String(count),
      `parley_bench_search_${process.pid}`,
      String(scale.searchCompactionWaitS),
    ]);
    shapes[name] = result;
    const label = backend === 'sqlite' ? 'SQLite FTS5' : 'one Cassandra node, SAI';
    figure(
      `19-${backend}`,
      `search p95 over 50 channels, ${count.toLocaleString('en')} messages, ${label}`,
      result.search_ms.p95,
      'ms',
      `<=${target}`,
      result.search_ms.p95 <= target,
    );
    figure(
      `19-${backend}-channel`,
      `search p95 in one channel (DM or in:), ${label}`,
      result.channel_search_ms.p95,
      'ms',
      `<=${target}`,
      result.channel_search_ms.p95 <= target,
    );
    figure(
      `19-${backend}-lag`,
      `index lag after a send (search of its channel), ${label}`,
      result.index_lag_ms.p95,
      'ms',
      '<1000',
      result.index_lag_ms.p95 < 1000,
    );
    // The send figures here drive the storage driver as fast as it goes (closed loop) or at half that (open
    // loop): stress shapes, where the index's work shows as lost capacity. They carry no target; the issue's
    // "send p95 within 10 %" is judged at the API at the capacity model's rate and 4x it (search-api.mjs).
    const ratio = result.send_ms_index_on.p95 / result.send_ms_index_off.p95;
    figure(
      `19-${backend}-send`,
      `stress: send p95 index on / off, closed loop, ${label} (capacity below)`,
      Math.round(ratio * 100) / 100,
      'x',
      'none (stress)',
      null,
      { on_ms: result.send_ms_index_on.p95, off_ms: result.send_ms_index_off.p95 },
    );
    figure(
      `19-${backend}-send-capacity`,
      `stress: closed-loop sends/s index on / off, ${label}`,
      Math.round((result.send_rate_index_on / result.send_rate_index_off) * 100) / 100,
      'x',
      'none (stress)',
      null,
      { on_per_s: result.send_rate_index_on, off_per_s: result.send_rate_index_off },
    );
    const open = result.open_loop;
    const openRatio = open.send_ms_index_on.p95 / open.send_ms_index_off.p95;
    figure(
      `19-${backend}-send-open`,
      `stress: send p95 index on / off, open loop at ${Math.round(open.rate_per_s)} sends/s, ${label}`,
      Math.round(openRatio * 100) / 100,
      'x',
      'none (stress)',
      null,
      { on_ms: open.send_ms_index_on.p95, off_ms: open.send_ms_index_off.p95, rate_per_s: open.rate_per_s },
    );
  }
}
