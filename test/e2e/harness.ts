import type { ChildProcess } from 'node:child_process';
import { compiledMain, launch, runToExit, tempDir as freshDir } from '../support/process';

// The e2e suites' view of the one harness (test/support): the compiled server as real processes, the REST
// client, the CLI runner and the poller.
export { Client, type Reply, request } from '../support/rest';
export { parleyCli } from '../support/process';
export { pause, waitFor, waitUntilPasses } from '../support/wait';

let mode: 'monolith' | 'microservices' = 'monolith';
let backendEnv: Record<string, string> = {};
let startTimeoutMs = 20_000;

/**
 * From now on (in this test file), startServer runs the monolith on Cassandra (the node or cluster answering on
 * 127.0.0.1:9042, data centre dc1) in the given keyspace, which the server creates and migrates at start.
 */
export function useCassandra(keyspace: string): void {
  backendEnv = { PARLEY__DATABASE__BACKEND: 'cassandra', PARLEY__DATABASE__CASSANDRA__KEYSPACE: keyspace };
  // A fresh keyspace's schema waits for every node's agreement: about half a minute on the loopback cluster.
  startTimeoutMs = 120_000;
}

/** What startServer adds to a server's environment to choose its backend (for the CLI on the same database). */
export function backendEnvironment(): Record<string, string> {
  return { ...backendEnv };
}

/** The storage backend startServer uses: readiness and metrics name it. */
export function backendName(): 'sqlite' | 'cassandra' {
  return backendEnv.PARLEY__DATABASE__BACKEND === 'cassandra' ? 'cassandra' : 'sqlite';
}

/**
 * From now on (in this test file), startServer starts microservices mode instead of the monolith: api,
 * gateway and queue as separate processes over the machine's NATS and Redis, with the api's URL as the
 * server's. Suites written for the monolith run unchanged against it.
 */
export function useMicroservices(): void {
  mode = 'microservices';
}

let withMediaProxy = false;
/** Microservices mode also starts the media-proxy role (ServerProcess.mediaUrl); the monolith serves /media itself. */
export function useMediaProxy(): void {
  withMediaProxy = true;
}

export interface ServerProcess {
  url: string;
  /** Where the gateway answers: the server itself, or the gateway role in microservices mode. */
  gatewayUrl: string;
  /** Where `/media/...` answers: the server itself, or the media-proxy role (after useMediaProxy). */
  mediaUrl: string;
  child: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(prefix = 'parley-e2e-'): { path: string; remove: () => void } {
  return freshDir(prefix);
}

/** Starts the compiled monolith (or, after useMicroservices, the split roles) on free loopback ports. */
export async function startServer(
  env: Record<string, string>,
  timeoutMs = startTimeoutMs,
): Promise<ServerProcess> {
  if (mode === 'microservices') return startMicroservices(env);
  const server = await launch(
    compiledMain('server'),
    { ...env, ...backendEnv },
    { label: 'server', timeoutMs },
  );
  return {
    url: server.url,
    gatewayUrl: server.url,
    mediaUrl: server.url,
    child: server.child,
    output: server.output,
    stop: server.stop,
  };
}

/** Runs the server expecting it to refuse to start; returns its exit code and stderr. */
export async function runFailingServer(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const { code, stderr } = await runToExit(
    process.execPath,
    [compiledMain('server')],
    { PATH: process.env.PATH ?? '', PARLEY__SERVER__PORT: '0', PARLEY__SERVER__HOST: '127.0.0.1', ...env },
    { bareEnv: true, timeoutMs: 15_000 },
  );
  return { code, stderr };
}

/** api, gateway and queue processes sharing one SQLite file, NATS and Redis, under a prefix of their own. */
async function startMicroservices(env: Record<string, string>): Promise<ServerProcess> {
  const ms = await import('../integration/microservices/processes');
  await ms.requireSharedServices();
  const prefix = ms.uniquePrefix();
  const shared: Record<string, string> = {
    ...ms.clusterEnv(prefix, env.PARLEY__DATABASE__SQLITE__PATH ?? ''),
    ...env,
    ...backendEnv, // after useCassandra: every role on the keyspace
  };
  delete shared.PARLEY__AUTH__ARGON2; // the monolith's password hashing, as the suite expects
  const started: import('../integration/microservices/processes').RoleProcess[] = [];
  try {
    started.push(await ms.startRole('api', { ...shared, PARLEY__INSTANCE__NODE_ID: '1' }));
    started.push(
      ...(await Promise.all([
        ms.startRole('gateway', { ...shared, PARLEY__INSTANCE__NODE_ID: '2' }),
        ms.startRole('queue', { ...shared, PARLEY__INSTANCE__NODE_ID: '3' }),
        ...(withMediaProxy
          ? [ms.startRole('media-proxy', { ...shared, PARLEY__INSTANCE__NODE_ID: '4' })]
          : []),
      ])),
    );
  } catch (err) {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await ms.purgePrefix(prefix);
    throw err;
  }
  const [api, gateway] = started;
  return {
    url: api.url,
    gatewayUrl: gateway.url,
    mediaUrl: started.find((p) => p.role === 'media-proxy')?.url ?? api.url,
    child: api.child,
    output: () => started.map((p) => `--- ${p.role}\n${p.output()}`).join('\n'),
    stop: async (signal = 'SIGTERM') => {
      const codes = await Promise.all(started.map((p) => p.stop(signal)));
      await ms.purgePrefix(prefix);
      return codes[0];
    },
  };
}
