import 'reflect-metadata';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type ParleyConfig, loadConfig } from '@parley/config';
import { ServerModule, createHttpApp, listen } from '@parley/platform';
import { GatewayServer, InterestRouter } from '@parley/realtime';
import { type Account, Api, GatewayClient } from '../../support/clients';
import { tempDir } from '../../support/process';

export interface TestServer {
  url: string;
  config: ParleyConfig;
  app: NestFastifyApplication;
  gateway: GatewayServer;
  router: InterestRouter;
  close(): Promise<void>;
}

type Tree = Record<string, unknown>;

/** The monolith in this process on 127.0.0.1 and a free port, on a fresh SQLite file. */
export async function startServer(gateway: Tree = {}, overrides: Tree = {}): Promise<TestServer> {
  const dir = tempDir('parley-gateway-');
  const config = loadConfig({
    env: {},
    overrides: {
      rate_limits: { enabled: false },
      ...overrides,
      database: { sqlite: { path: join(dir.path, 'parley.db') } },
      server: { ...(overrides.server as Tree | undefined), host: '127.0.0.1', port: 0 },
      logging: { level: 'silent' },
      auth: {
        argon2: { memory_cost: 1024, time_cost: 1, parallelism: 1 },
        token_ttl: 0,
        login_lockout: { max_failures: 10, base_ms: 60000, max_ms: 3600000, reset_ms: 900000 },
      },
      gateway,
    },
  });
  const app = await createHttpApp(config, ServerModule.forRoot(config));
  const running = await listen(app, config, 0);
  return {
    url: running.url,
    config,
    app,
    gateway: app.get(GatewayServer),
    router: app.get(InterestRouter),
    close: async () => {
      await running.close();
      dir.remove();
    },
  };
}

export * from '../../support/clients';

/**
 * A describe block's server: started before its tests, stopped after them; every client `connect` opened is closed
 * after each test.
 */
export function useGatewayServer(
  gateway: Tree = {},
  overrides: Tree = {},
): { readonly server: TestServer; readonly api: Api; connect(account: Account): Promise<GatewayClient> } {
  let server: TestServer | undefined;
  let api: Api | undefined;
  const clients: GatewayClient[] = [];
  beforeAll(async () => {
    server = await startServer(gateway, overrides);
    api = new Api(server.url);
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await server?.close();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the gateway test server has not started');
    return value;
  };
  return {
    get server() {
      return started(server);
    },
    get api() {
      return started(api);
    },
    async connect(account: Account) {
      const client = await GatewayClient.ready(started(server).url, account.token);
      clients.push(client);
      return client;
    },
  };
}
