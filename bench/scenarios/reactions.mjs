// Reactions on a viral message (issue 17): `scale.reactionsViral` reactors on one message of a 50-message page,
// then react p95 on it against react p95 on a fresh message (target: the same, within noise) and the counts read
// of the page. Each backend in a worker process of its own (reactions-worker.cjs). Cassandra: the node answering
// on 127.0.0.1:9042 (the scenario fails, saying so, when none does), a keyspace of its own, dropped afterwards.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../lib/server.mjs';

function worker(args) {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, 'bench/scenarios/reactions-worker.cjs'), args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', resolve);
    child.once('exit', (code) => code && reject(new Error(`reactions worker ${args[0]} exited ${code}`)));
  });
}

export async function run({ scale, figure, shapes }) {
  for (const backend of ['sqlite', 'cassandra']) {
    const result = await worker([
      backend,
      String(scale.reactionsViral),
      `parley_bench_reactions_${process.pid}`,
    ]);
    shapes[`reactions-${backend}`] = result;
    const ratio = result.react_viral_ms.p95 / result.react_fresh_ms.p95;
    figure(
      `17-reactions-${backend}`,
      `react p95 on a message with ${result.reactors.toLocaleString('en')} reactions / on a fresh one, ${backend}`,
      Math.round(ratio * 100) / 100,
      'x',
      '<=1.5',
      ratio <= 1.5,
      { viral_ms: result.react_viral_ms.p95, fresh_ms: result.react_fresh_ms.p95 },
    );
    figure(
      `17-reaction-counts-${backend}`,
      `reaction counts of a 50-message page holding the viral message, p95, ${backend}`,
      result.page_counts_ms.p95,
      'ms',
      backend === 'sqlite' ? '<=5' : '<=10',
      result.page_counts_ms.p95 <= (backend === 'sqlite' ? 5 : 10),
    );
  }
}
