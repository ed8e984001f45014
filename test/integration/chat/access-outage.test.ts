import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@parley/config';
import { ServerModule, createHttpApp, listen } from '@parley/platform';
import { Client } from 'cassandra-driver';
import { CassandraStorage } from '@parley/storage';
import { cassandraSettings, dropKeyspace, requireCassandra, testKeyspace } from '../cassandra/support';
import { type Account, Api } from '../../support/clients';

// A database outage during a permission check answers 503, never a 404 that tells the client the channel is
// gone. The monolith in this process on Cassandra (`npm run cassandra:up`); the outage is real: the test's
// keyspace's replica moves from dc1 to dc2, so every LOCAL_QUORUM read in dc1 fails with Unavailable.
jest.setTimeout(300_000);

const keyspace = testKeyspace('parley_access_outage');

describe('AccessService during a database outage', () => {
  let app: NestFastifyApplication | undefined;
  let close: (() => Promise<void>) | undefined;
  let admin: Client;
  let api: Api;
  let owner: Account;
  let member: Account;
  let general: string;

  const replicas = (dc1: number) =>
    admin.execute(
      `ALTER KEYSPACE "${keyspace}" WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': ${dc1}, 'dc2': ${1 - dc1}}`,
    );

  beforeAll(async () => {
    await requireCassandra();
    admin = new Client({ contactPoints: ['127.0.0.1'], localDataCenter: 'dc1' });
    // The schema first, on its own: on a multi-node cluster a table may be created before every node has
    // the new keyspace; migrations are idempotent, so a second pass finishes the job.
    for (let attempt = 1; ; attempt++) {
      const storage = new CassandraStorage(cassandraSettings({ keyspace }));
      try {
        await storage.migrate();
        break;
      } catch (err) {
        if (attempt >= 3) throw err;
      } finally {
        await storage.close();
      }
    }
    const config = loadConfig({
      env: {},
      overrides: {
        database: { backend: 'cassandra', cassandra: { keyspace, request_timeout: 5000 } },
        server: { host: '127.0.0.1', port: 0 },
        rate_limits: { enabled: false },
        logging: { level: 'silent' },
        auth: { argon2: { memory_cost: 1024, time_cost: 1, parallelism: 1 } },
      },
    });
    app = await createHttpApp(config, ServerModule.forRoot(config));
    const running = await listen(app, config, 0);
    close = () => running.close();
    api = new Api(await app.getUrl());
    [owner, member] = [await api.register('outage_owner'), await api.register('outage_member')];
    // The owner's invite caches the channel, the guild and the owner's membership; the member's join
    // caches the member's token, not the membership (nothing has checked it yet).
    general = (await api.guild(owner, [member])).general;
  });

  afterAll(async () => {
    await replicas(1).catch(() => undefined);
    await close?.();
    await admin?.shutdown();
    await dropKeyspace(keyspace);
  });

  it('answers 503 (not 404 "Unknown channel") when the member lookup fails on a cached channel', async () => {
    await replicas(0);
    try {
      const during = await api.call('GET', `/channels/${general}`, member.token);
      expect(during.status).toBe(503);
      expect(during.body).toMatchObject({ code: 50503, error_id: expect.any(String) });
      const history = await api.call('GET', `/channels/${general}/messages`, member.token);
      expect(history.status).toBe(503);
    } finally {
      await replicas(1);
    }
    // Back: the same member sees the channel, and a stranger still gets 404 for it.
    const after = await api.call<{ id: string }>('GET', `/channels/${general}`, member.token);
    expect(after).toMatchObject({ status: 200, body: { id: general } });
    const stranger = await api.register('outage_stranger');
    const hidden = await api.call('GET', `/channels/${general}`, stranger.token);
    expect(hidden).toMatchObject({ status: 404, body: { code: 10003, message: 'Unknown channel' } });
  });
});
