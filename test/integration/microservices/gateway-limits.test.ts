import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type ParleyConfig, loadConfig } from '@parley/config';
import { hashToken } from '@parley/auth';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { GatewayServer } from '@parley/realtime';
import { type Account, Api, GatewayClient, waitFor } from './clients';
import { purgePrefix, requireSharedServices, startRoleInProcess, tempDir, uniquePrefix } from './processes';

jest.setTimeout(60_000);

/**
 * The gateway's abuse limits with two gateway nodes sharing their state in the machine's Redis (an api role and
 * two gateway roles in this process, events on its NATS): each limit holds across nodes, so moving to the other
 * node does not get around it. Client addresses come from X-Forwarded-For (trust_proxy), one per test.
 */
describe('gateway abuse limits across gateway nodes (Redis)', () => {
  const dir = tempDir();
  const prefix = uniquePrefix();
  const apps: NestFastifyApplication[] = [];
  const clients: GatewayClient[] = [];
  let api: Api;
  let gwA: string;
  let gwB: string;
  let addresses = 0;
  const address = () => ({ 'x-forwarded-for': `198.51.100.${++addresses}` });

  const configFor = (nodeId: number): ParleyConfig =>
    loadConfig({
      env: {},
      overrides: {
        instance: { deployment_mode: 'microservices', node_id: nodeId },
        database: { sqlite: { path: `${dir.path}/parley.db` } },
        storage: { local: { path: `${dir.path}/files` } },
        server: { host: '127.0.0.1', port: 0, trust_proxy: true },
        redis: { key_prefix: `${prefix}:` },
        nats: { subject_prefix: prefix },
        media: { signing_secret: `${prefix}-0123456789abcdef0123456789abcdef` },
        rate_limits: {
          enabled: true,
          global: { limit: 10_000, window_ms: 1000 },
          routes: { 'auth.register': { limit: 1000, window_ms: 60_000 } },
        },
        gateway: {
          max_sessions_per_user: 2,
          max_connections_per_ip: 3,
          handshake_rate: { limit: 5, window_ms: 60_000 },
          inbound_rate: { limit: 100, window_ms: 60_000 },
          user_inbound_rate: { limit: 6, window_ms: 60_000 },
          presence_rate: { limit: 3, window_ms: 60_000 },
        },
        logging: { level: 'silent' },
        auth: { argon2: { memory_cost: 1024, time_cost: 1, parallelism: 1 } },
      },
    });
  const start = (role: 'api' | 'gateway', nodeId: number) =>
    startRoleInProcess(role, configFor(nodeId), apps);
  const open = (
    url: string,
    account: Account | string,
    from: Record<string, string>,
    resume: { session_id?: string; seq?: number } = {},
  ) => {
    const token = typeof account === 'string' ? account : account.token;
    const client = new GatewayClient(url, token, { headers: from, ...resume });
    clients.push(client);
    return client;
  };
  const ready = async (url: string, account: Account, from = address()) => {
    const client = open(url, account, from);
    await client.next('READY');
    return client;
  };
  /** Connects until READY, while the answer is `code` (a place the other node gave back is not free yet). */
  const readyOnceFree = async (url: string, account: Account, code: number) => {
    const got = await waitFor(
      async () => {
        const client = open(url, account, address());
        const outcome = await client.connected.then(
          async () => (await client.next('READY'), null),
          (err: Error & { data?: { code: number } }) => err.data?.code,
        );
        if (outcome === null) return { client };
        client.close();
        // Refused with another code: fail at once, not at the deadline.
        return outcome === code ? null : { refused: outcome };
      },
      `READY on ${url} once a place is free (refused with ${code} meanwhile)`,
      10_000,
      20,
    );
    if (!got.client) throw new Error(`refused with ${got.refused}`);
    return got.client;
  };

  beforeAll(async () => {
    await requireSharedServices();
    api = new Api(await start('api', 1)); // applies the migrations first
    gwA = await start('gateway', 2);
    gwB = await start('gateway', 3);
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await purgePrefix(prefix);
    dir.remove();
  });

  it('caps a user’s connected sessions over both nodes, and frees the place the other node held', async () => {
    const user = await api.register('msl_user');
    await ready(gwA, user);
    const onB = await ready(gwB, user);
    const third = await open(gwA, user, address()).connectError();
    expect(third.data).toEqual({ code: 4015, message: expect.stringContaining('2 connected sessions') });
    onB.close();
    await readyOnceFree(gwA, user, 4015);
  });

  it('caps the connections of one address over both nodes', async () => {
    const [a, b] = await Promise.all([api.register('msl_ip_a'), api.register('msl_ip_b')]);
    const from = address();
    await ready(gwA, a, from);
    await ready(gwB, a, from);
    await ready(gwB, b, from);
    const refused = await open(gwA, b, from).connectError();
    expect(refused.data).toEqual({ code: 4016, message: expect.stringContaining('3 gateway connections') });
  });

  it('counts an address’s handshakes on both nodes together', async () => {
    const user = await api.register('msl_hs');
    const from = address();
    for (const url of [gwA, gwB, gwA, gwB, gwA])
      expect((await open(url, 'bad-token', from).connectError()).data?.code).toBe(4004);
    const refused = (await open(gwB, user, from).connectError()).data!;
    expect(refused.code).toBe(4008);
    expect(refused.retry_after).toBeGreaterThan(0);
  });

  it('keeps counting a user’s events when the session resumes on the other node', async () => {
    const user = await api.register('msl_in');
    const onA = await ready(gwA, user);
    for (let i = 0; i < 6; i++) onA.socket.emit('NOT_A_THING', i);
    await onA.waitIndex('ERROR', () => onA.named('ERROR').length === 6);
    onA.socket.emit('NOT_A_THING', 7);
    const close = { code: 4008, reason: 'rate_limited', resumable: true, reconnect: false };
    expect(await onA.next('CLOSE')).toEqual(close);
    await onA.disconnected();

    const onB = open(gwB, user, address(), { session_id: onA.sessionId!, seq: onA.lastSeq });
    await onB.next('RESUMED');
    onB.socket.emit('NOT_A_THING', 8);
    expect(await onB.next('CLOSE')).toEqual(close);
  });

  it('limits a user’s chosen statuses over both nodes together', async () => {
    const user = await api.register('msl_pr');
    const onA = await ready(gwA, user);
    const onB = await ready(gwB, user);
    const choose = (c: GatewayClient, status: string) =>
      c.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status });
    expect(await choose(onA, 'idle')).toEqual({ ok: true, status: 'idle' });
    expect(await choose(onB, 'dnd')).toEqual({ ok: true, status: 'dnd' });
    expect(await choose(onA, 'online')).toEqual({ ok: true, status: 'online' });
    const refused = await choose(onB, 'idle');
    expect(refused).toMatchObject({ ok: false, code: 4008 });
    expect(refused.retry_after).toBeGreaterThan(0);
  });

  it('closes every session of a revoked token on both nodes, dropped ones included, and no other', async () => {
    const user = await api.register('msl_rev');
    const other = await api.login(user);
    const onA = await ready(gwA, user);
    const dropped = await ready(gwB, user);
    const nodeB = apps[2].get(GatewayServer);
    dropped.tcp.destroy(); // a dropped connection: the session waits on gwB to be resumed
    await waitFor(
      () => nodeB.session(dropped.sessionId!)?.state === 'detached',
      'gwB holds the dropped session',
    );
    // A dropped session holds no place under max_sessions_per_user: the other token's session takes it.
    const kept = await readyOnceFree(gwB, { ...user, token: other }, 4015);
    await api.ok('POST', '/auth/logout', user.token);
    const revoked = { code: 4004, reason: 'token_revoked', resumable: false, reconnect: false };
    expect(await onA.next('CLOSE')).toEqual(revoked);
    await waitFor(() => nodeB.session(dropped.sessionId!) === undefined, 'gwB ended the dropped session');
    await kept.sentinel(await api.touch({ ...user, token: other }));
    expect(kept.named('CLOSE')).toEqual([]);
  });

  it('closes every session of a user but the kept token’s on both nodes on USER_SESSIONS_REVOKED', async () => {
    const user = await api.register('msl_all');
    const [second, kept] = [await api.login(user), await api.login(user)];
    const nodeB = apps[2].get(GatewayServer);
    const dropped = await ready(gwB, { ...user, token: second });
    dropped.tcp.destroy();
    await waitFor(
      () => nodeB.session(dropped.sessionId!)?.state === 'detached',
      'gwB holds the dropped session',
    );
    const onA = await ready(gwA, user);
    const keptWs = await readyOnceFree(gwB, { ...user, token: kept }, 4015);
    // What the password change or "log out everywhere" announces, published from the api process.
    apps[0].get<EventBus>(EVENT_BUS).publish({
      type: 'USER_SESSIONS_REVOKED',
      scope: { kind: 'user', id: user.user.id },
      data: { user_id: user.user.id, except_token_hash: hashToken(kept) },
    });
    const revoked = { code: 4004, reason: 'token_revoked', resumable: false, reconnect: false };
    expect(await onA.next('CLOSE')).toEqual(revoked);
    await waitFor(() => nodeB.session(dropped.sessionId!) === undefined, 'gwB ended the dropped session');
    await keptWs.sentinel(await api.touch({ ...user, token: kept }));
    expect(keptWs.named('CLOSE')).toEqual([]);
    expect(keptWs.named('USER_SESSIONS_REVOKED')).toEqual([]);
  });
});
