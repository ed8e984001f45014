import { type Account, Api, GatewayClient, waitFor } from './clients';
import {
  OwnService,
  type RoleProcess,
  clusterEnv,
  clusterScope,
  startRole,
  storedMessageCount,
  withServerLogs,
} from './processes';

jest.setTimeout(120_000);

/**
 * Redis and NATS dying under a running cluster: these tests start (and kill) their own redis-server and
 * nats-server on other loopback ports, never the machine's shared ones.
 */
describe('microservices mode when Redis or NATS goes down', () => {
  const { dir, prefix, track, cleanUp } = clusterScope();
  let redis: OwnService;
  let nats: OwnService;
  let env: Record<string, string>;
  let api: RoleProcess;
  let gateway: RoleProcess;
  let queue: RoleProcess;
  let a: Api;
  let owner: Account;
  let guild: { id: string; general: string };

  const ready = async (p: RoleProcess) => {
    const res = await fetch(`${p.url}/health/ready`);
    return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
  };

  beforeAll(async () => {
    redis = await OwnService.start('redis');
    nats = await OwnService.start('nats');
    env = {
      ...clusterEnv(prefix, `${dir.path}/parley.db`, { redis: redis.url, nats: nats.url }),
      PARLEY__RATE_LIMITS__ENABLED: 'false',
    };
    api = await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' });
    [gateway, queue] = await Promise.all([
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '2' }),
      startRole('queue', { ...env, PARLEY__INSTANCE__NODE_ID: '3' }),
    ]);
    a = new Api(api.url);
    owner = await a.register('fault_owner');
    guild = await a.guild(owner);
  });

  afterAll(async () => {
    // Its own Redis and NATS: nothing of it is in the shared ones.
    await cleanUp({ purge: false });
    await redis?.remove();
    await nats?.remove();
  });

  it('Redis down: not ready, API requests answered 503 at once; Redis back: ready and serving again', async () => {
    expect((await a.call('GET', '/users/@me', owner.token)).status).toBe(200);
    await redis.kill();

    await waitFor(async () => (await ready(api)).status === 503, 'the api reports not ready');
    expect((await ready(api)).body.checks.redis).not.toBe('ok');
    await waitFor(async () => (await ready(gateway)).status === 503, 'the gateway reports not ready');
    const refused = await a.call('GET', '/users/@me', owner.token);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({
      code: 50503,
      message: expect.stringContaining('Redis'),
      error_id: expect.any(String),
    });
    // A new gateway connection is refused rather than started without presence and resume.
    const early = track(new GatewayClient(gateway.url, owner.token));
    expect((await early.connectError()).data?.code).toBe(4000);

    await redis.up();
    await waitFor(async () => (await ready(api)).status === 200, 'the api is ready again');
    await waitFor(async () => (await ready(gateway)).status === 200, 'the gateway is ready again');
    expect((await a.call('GET', '/users/@me', owner.token)).status).toBe(200);
    const client = track(await GatewayClient.ready(gateway.url, owner.token));
    const sent = await a.send(owner, guild.general, 'after redis came back');
    await client.next('MESSAGE_CREATE', (p) => p.d.id === sent.id);
  });

  it('NATS down: 503s, gateway sessions kept, no job lost; NATS back: sessions go on and the job runs', () =>
    withServerLogs([api, gateway], async () => {
      const client = track(await GatewayClient.ready(gateway.url, owner.token));
      const channel = await a.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
        name: 'doomed',
        type: 0,
      });
      for (let i = 0; i < 3; i++) await a.send(owner, channel.id, `doomed ${i}`);
      const count = () => storedMessageCount(`${dir.path}/parley.db`, channel.id);
      // The purge job is stored in JetStream while no worker runs.
      expect(await queue.stop('SIGTERM')).toBe(0);
      expect((await a.call('DELETE', `/channels/${channel.id}`, owner.token)).status).toBe(200);
      expect(count()).toBe(3);

      await nats.kill();
      await waitFor(async () => (await ready(api)).status === 503, 'the api reports not ready');
      expect((await ready(api)).body.checks.nats).not.toBe('ok');
      const refused = await a.call('POST', `/channels/${guild.general}/messages`, owner.token, {
        content: 'x',
      });
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ code: 50503, message: expect.stringContaining('NATS') });

      await nats.up();
      await waitFor(async () => (await ready(api)).status === 200, 'the api is ready again');
      await waitFor(async () => (await ready(gateway)).status === 200, 'the gateway is ready again');
      // The gateway caught up from the event history instead of restarting its sessions: the same session goes on.
      const sent = await a.send(owner, guild.general, 'after nats came back');
      await client.next('MESSAGE_CREATE', (p) => p.d.id === sent.id);
      expect(client.named('CLOSE')).toEqual([]);
      expect(client.named('INVALID_SESSION')).toEqual([]);
      expect(client.named('READY')).toHaveLength(1);

      queue = await startRole('queue', { ...env, PARLEY__INSTANCE__NODE_ID: '3' });
      await waitFor(() => Promise.resolve(count() === 0), 'the purge job stored before the outage ran');
    }));
});
