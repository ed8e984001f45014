import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type ParleyConfig, loadConfig } from '@parley/config';
import { type Account, Api, GatewayClient } from './clients';
import { purgePrefix, requireSharedServices, startRoleInProcess, tempDir, uniquePrefix } from './processes';

type Presence = { user: { id: string }; user_id: string; status: string };

/**
 * READY presences in microservices mode: an api role and two gateway roles in this process (the same modules
 * as `npm run start:api` / `start:gateway`), presence in the machine's Redis, events on its NATS, one SQLite
 * file. A user on one gateway node sees, in READY, guild-mates connected to the other.
 */
describe('READY presences across gateway nodes (Redis presence)', () => {
  const dir = tempDir();
  const prefix = uniquePrefix();
  const apps: NestFastifyApplication[] = [];
  const clients: GatewayClient[] = [];
  let api: Api;
  let gwA: string;
  let gwB: string;

  const configFor = (nodeId: number): ParleyConfig =>
    loadConfig({
      env: {},
      overrides: {
        instance: { deployment_mode: 'microservices', node_id: nodeId },
        database: { sqlite: { path: `${dir.path}/parley.db` } },
        storage: { local: { path: `${dir.path}/files` } },
        server: { host: '127.0.0.1', port: 0 },
        redis: { key_prefix: `${prefix}:` },
        nats: { subject_prefix: prefix },
        media: { signing_secret: `${prefix}-0123456789abcdef0123456789abcdef` },
        rate_limits: { enabled: false },
        logging: { level: 'silent' },
        auth: { argon2: { memory_cost: 1024, time_cost: 1, parallelism: 1 } },
      },
    });
  const start = (role: 'api' | 'gateway', nodeId: number) =>
    startRoleInProcess(role, configFor(nodeId), apps);
  const connect = async (url: string, account: Account) => {
    const client = await GatewayClient.ready(url, account.token);
    clients.push(client);
    return client;
  };
  const presencesOf = (client: GatewayClient): Record<string, string> =>
    Object.fromEntries(
      (client.events[0].payload.d.presences as Presence[]).map((p) => [p.user_id, p.status]),
    );

  beforeAll(async () => {
    await requireSharedServices();
    api = new Api(await start('api', 1)); // applies the migrations first
    gwA = await start('gateway', 2);
    gwB = await start('gateway', 3);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    for (const app of apps.reverse()) await app.close();
    await purgePrefix(prefix);
    dir.remove();
  });

  it('reports guild-mates online on another node, with their chosen status, and not once they left', async () => {
    const [alice, bob, carol, dave] = await Promise.all(
      ['msp_alice', 'msp_bob', 'msp_carol', 'msp_dave'].map((n) => api.register(n)),
    );
    await api.guild(alice, [bob, carol, dave]);

    const aliceWs = await connect(gwA, alice);
    const bobWs = await connect(gwB, bob);
    expect(presencesOf(bobWs)).toEqual({ [alice.user.id]: 'online' });

    await aliceWs.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'idle' });
    const carolWs = await connect(gwB, carol);
    expect(presencesOf(carolWs)).toEqual({ [alice.user.id]: 'idle', [bob.user.id]: 'online' });

    // An explicit disconnect ends alice's session: she is offline everywhere at once.
    aliceWs.close();
    await carolWs.next('PRESENCE_UPDATE', (p) => p.d.user.id === alice.user.id && p.d.status === 'offline');
    const daveWs = await connect(gwA, dave);
    expect(presencesOf(daveWs)).toEqual({ [bob.user.id]: 'online', [carol.user.id]: 'online' });
  });
});
