// Only types and the config at the top: main.ts imports this before tracing starts, and tracing must see http
// and the Cassandra driver load after it (startBenchSwitch loads them, once the server runs).
import type { INestApplication } from '@nestjs/common';
import { ConfigError, type ParleyConfig } from '@parley/config';
import type { Storage } from '@parley/storage';

/**
 * Arms the bench's search index switch (bench/scenarios/search-api.mjs, docs/search.md "Measured"). A process
 * environment variable outside the `PARLEY__` configuration namespace on purpose: no config file, Helm value or
 * `PARLEY__` variable can turn it on, only a process started with exactly this variable set to `1`.
 */
export const BENCH_SWITCH_ENV = 'PARLEY_BENCH_SEARCH_INDEX_SWITCH';

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/**
 * Whether the switch is armed. Armed on a server that does not listen on loopback only, or on SQLite (whose
 * index the bench switches from outside, by its FTS trigger), the server refuses to start rather than ignore it:
 * a benchmark's knob left in a real deployment's environment must be noticed, not half-applied.
 */
export function benchSwitchArmed(env: NodeJS.ProcessEnv, config: ParleyConfig): boolean {
  const value = env[BENCH_SWITCH_ENV];
  if (value === undefined || value === '' || value === '0') return false;
  const problems: string[] = [];
  if (value !== '1') problems.push(`${BENCH_SWITCH_ENV}: expected 1 (or unset), got "${value}"`);
  if (!LOOPBACK.test(config.server.host))
    problems.push(
      `${BENCH_SWITCH_ENV}: a benchmark switch, allowed only on a server listening on loopback (server.host is "${config.server.host}"); unset it`,
    );
  if (config.database.backend !== 'cassandra')
    problems.push(`${BENCH_SWITCH_ENV}: only for database.backend "cassandra"`);
  if (problems.length > 0) throw new ConfigError(problems);
  return true;
}

/**
 * Benchmarks only: a second listener on 127.0.0.1 (a port of its own, never the public one) where
 * `PUT /search-index/off` and `PUT /search-index/on` turn this process's search posting writes off and on, so
 * the bench compares `POST /channels/:id/messages` with and without indexing on one running server, in
 * interleaved rounds. "Off" is the same send without the posting and its bucket marker: messages sent meanwhile
 * are never found by search. Its address goes to stdout as `parley bench switch`.
 */
export async function startBenchSwitch(app: INestApplication): Promise<string> {
  const { createServer } = await import('node:http');
  const { CassandraStorage, STORAGE } = await import('@parley/storage');
  const storage = app.get<Storage>(STORAGE);
  if (!(storage instanceof CassandraStorage)) throw new Error('the bench switch needs the Cassandra storage');
  const postings = storage.messages.postings;
  const server = createServer((req, res) => {
    const match = req.method === 'PUT' ? /^\/search-index\/(on|off)$/.exec(req.url ?? '') : null;
    if (!match) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":0,"message":"404: Not Found"}');
      return;
    }
    postings.enabled = match[1] === 'on';
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ indexing: postings.enabled }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // The process ends on SIGTERM by its drain (process.exit): nothing to close, and nothing kept alive by it.
  server.unref();
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  process.stdout.write(
    `${JSON.stringify({ level: 40, msg: 'parley bench switch', url, serves: ['PUT /search-index/on', 'PUT /search-index/off'] })}\n`,
  );
  return url;
}
