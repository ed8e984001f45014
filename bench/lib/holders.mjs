// Light-session holders: several load generator processes (bench/lib/loadgen.mjs, job `holdLight`), each holding
// its share of the sessions from its own loopback source addresses, driven step by step (`openUpTo`) so the
// orchestrator can measure the server between steps. Every process is bounded by `lifetimeMs` and killed after it.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './server.mjs';

/** Source addresses per generator process: 127.0.0.<2 + 8k> .. 127.0.0.<9 + 8k>. */
const ADDRESSES_PER_GENERATOR = 8;

export async function startHolders(
  base,
  tokens,
  { perGenerator = 10_000, rate = 2000, inflight = 64, lifetimeMs = 600_000 } = {},
) {
  const n = Math.max(1, Math.ceil(tokens.length / perGenerator));
  const size = Math.ceil(tokens.length / n);
  const gens = Array.from({ length: n }, (_, k) =>
    spawnHolder({
      base,
      tokens: tokens.slice(k * size, (k + 1) * size),
      addresses: Array.from({ length: ADDRESSES_PER_GENERATOR }, (_, j) => `127.0.0.${2 + k * 8 + j}`),
      rate: rate / n,
      inflight,
      lifetimeMs,
    }),
  );
  try {
    await Promise.all(gens.map((g) => g.next()));
  } catch (err) {
    for (const g of gens) g.kill();
    throw err;
  }
  const sum = (replies) => {
    const out = { open: 0, failed: 0, dropped: 0, received: 0, errors: {}, generator_rss_mb: [] };
    for (const r of replies) {
      out.open += r.open;
      out.failed += r.failed;
      out.dropped += r.dropped;
      out.received += r.received;
      out.generator_rss_mb.push(r.generator_rss_mb);
      for (const [k, v] of Object.entries(r.errors)) out.errors[k] = (out.errors[k] ?? 0) + v;
    }
    return out;
  };
  return {
    generators: n,
    /** Opens sessions until `target` in total were attempted (shared out like the tokens); sums the counts. */
    async openUpTo(target, deadlineMs = 120_000) {
      const t0 = performance.now();
      const replies = await Promise.all(
        gens.map((g) =>
          g.command({ cmd: 'open', upTo: Math.round((target * g.tokens) / tokens.length), deadlineMs }),
        ),
      );
      return { ...sum(replies), seconds: (performance.now() - t0) / 1000 };
    },
    async stats() {
      return sum(await Promise.all(gens.map((g) => g.command({ cmd: 'stats' }))));
    },
    async close() {
      const results = await Promise.allSettled(gens.map((g) => g.finish()));
      return sum(results.filter((r) => r.status === 'fulfilled').map((r) => r.value));
    },
  };
}

function spawnHolder(params) {
  const child = fork(join(ROOT, 'bench/lib/loadgen.mjs'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const kill = setTimeout(() => child.kill('SIGKILL'), params.lifetimeMs + 30_000);
  const waiting = [];
  let result = null;
  let failure = null;
  const done = new Promise((resolve, reject) => {
    child.on('message', (msg) => {
      if (msg.ready !== undefined) return waiting.shift()?.resolve(msg);
      clearTimeout(kill);
      child.kill();
      if (msg.ok) resolve((result = msg.result));
      else reject((failure = new Error(msg.error)));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(kill);
      const err = new Error(`holder exited ${code ?? signal}`);
      for (const w of waiting.splice(0)) w.reject(err);
      reject(err);
    });
  });
  done.catch(() => {});
  const next = () => new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  child.send({ job: 'holdLight', params });
  return {
    tokens: params.tokens.length,
    next,
    command(msg) {
      if (failure || child.exitCode !== null) return Promise.reject(failure ?? new Error('holder gone'));
      const reply = next();
      child.send(msg);
      return reply;
    },
    async finish() {
      if (result) return result;
      if (child.exitCode === null && child.connected) child.send({ cmd: 'close' });
      return done;
    },
    kill: () => child.kill('SIGKILL'),
  };
}
