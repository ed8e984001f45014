import { io } from 'socket.io-client';
import { type Account, GatewayClient, useGatewayServer, waitFor, withTimeout } from './harness';

/** Every gateway abuse limit, attacked from real socket.io clients; the address comes from X-Forwarded-For. */
describe('gateway abuse limits', () => {
  const gw = useGatewayServer(
    {
      max_payload: 1024,
      max_sessions_per_user: 2,
      max_connections_per_ip: 3,
      handshake_rate: { limit: 5, window_ms: 60_000 },
      inbound_rate: { limit: 100, window_ms: 60_000 },
      user_inbound_rate: { limit: 6, window_ms: 60_000 },
      presence_rate: { limit: 3, window_ms: 60_000 },
    },
    {
      server: { trust_proxy: true },
      rate_limits: {
        enabled: true,
        global: { limit: 10_000, window_ms: 1000 },
        routes: { 'auth.register': { limit: 1000, window_ms: 60_000 } },
      },
    },
  );
  const clients: GatewayClient[] = [];
  let addresses = 0;
  /** A client address no other test uses, so each test has its own buckets. */
  const address = () => ({ 'x-forwarded-for': `203.0.113.${++addresses}` });
  const open = (account: Account | string, from: Record<string, string>, resume = {}) => {
    const token = typeof account === 'string' ? account : account.token;
    const client = new GatewayClient(gw.server.url, token, { headers: from, ...resume });
    clients.push(client);
    return client;
  };
  const ready = async (account: Account, from: Record<string, string>) => {
    const client = open(account, from);
    await client.next('READY');
    return client;
  };
  /** The connect_error a raw handshake `auth` gets (fails on a connect or on a close without one). */
  const refusedAuth = async (auth: unknown, from: Record<string, string>) => {
    const socket = io(gw.server.url, {
      path: '/gateway',
      transports: ['websocket'],
      auth: (cb) => cb(auth as object),
      reconnection: false,
      forceNew: true,
      extraHeaders: from,
    });
    try {
      return await withTimeout(
        new Promise<{ code: number; message: string }>((resolve, reject) => {
          socket.once('connect', () => reject(new Error('connected, expected connect_error')));
          socket.once('disconnect', (reason) => reject(new Error(`closed without connect_error: ${reason}`)));
          socket.once('connect_error', (err: Error & { data?: { code: number; message: string } }) =>
            err.data ? resolve(err.data) : reject(new Error(`connect_error without a code: ${err.message}`)),
          );
        }),
        10_000,
        'connect_error',
      );
    } finally {
      socket.close();
    }
  };

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  it('answers a malformed, wrong-typed or oversize handshake with connect_error and a code', async () => {
    const user = await gw.api.register('ab_hs');
    const from = address();
    const malformed = 4002;
    expect((await refusedAuth('a string', from)).code).toBe(malformed);
    expect((await refusedAuth([user.token], from)).code).toBe(malformed);
    const from2 = address();
    expect((await refusedAuth({ token: 42 }, from2)).code).toBe(malformed);
    expect((await refusedAuth({ token: user.token, seq: 'one' }, from2)).code).toBe(malformed);
    const from3 = address();
    const oversize = await refusedAuth({ token: user.token, pad: 'x'.repeat(1500) }, from3);
    expect(oversize).toEqual({ code: 4012, message: expect.stringContaining('byte limit') });
    expect(await refusedAuth({ token: 'x'.repeat(200) }, from3)).toEqual({
      code: 4004,
      message: 'Authentication failed',
    });
    // The same client with a well-formed handshake is let in.
    await ready(user, address());
  });

  it('limits handshakes per address, before authentication, and leaves other addresses alone', async () => {
    const user = await gw.api.register('ab_rate');
    const from = address();
    for (let i = 0; i < 5; i++) expect((await open('bad-token', from).connectError()).data?.code).toBe(4004);
    const refused = (await open(user, from).connectError()).data!;
    expect(refused.code).toBe(4008);
    expect(refused.retry_after).toBeGreaterThan(0);
    await ready(user, address());
  });

  it('caps the sessions a user has connected at once, and frees a place when one closes', async () => {
    const user = await gw.api.register('ab_user');
    const first = await ready(user, address());
    await ready(user, address());
    const third = await open(user, address()).connectError();
    expect(third.data).toEqual({ code: 4015, message: expect.stringContaining('2 connected sessions') });
    const before = gw.server.gateway.socketCount;
    first.close();
    await waitFor(() => gw.server.gateway.socketCount === before - 1, 'the first session is gone');
    await ready(user, address());
  });

  it('caps the connections one address holds at once, whoever they belong to', async () => {
    const [a, b] = await Promise.all([gw.api.register('ab_ip_a'), gw.api.register('ab_ip_b')]);
    const from = address();
    await ready(a, from);
    await ready(a, from);
    await ready(b, from);
    const refused = await open(b, from).connectError();
    expect(refused.data).toEqual({ code: 4016, message: expect.stringContaining('3 gateway connections') });
    await ready(b, address());
  });

  it('limits client events per user across their sockets, and the count survives a resume', async () => {
    const [user, bystander] = await Promise.all([gw.api.register('ab_in'), gw.api.register('ab_in_by')]);
    const one = await ready(user, address());
    const two = await ready(user, address());
    const other = await ready(bystander, address());
    for (let i = 0; i < 4; i++) one.socket.emit('NOT_A_THING', i);
    await one.waitIndex('ERROR', () => one.named('ERROR').length === 4);
    for (let i = 0; i < 2; i++) two.socket.emit('NOT_A_THING', i);
    await two.waitIndex('ERROR', () => two.named('ERROR').length === 2);
    // The seventh event of the user (the third of this socket, far under the socket's own limit) is one too many.
    two.socket.emit('NOT_A_THING', 7);
    const close = { code: 4008, reason: 'rate_limited', resumable: true, reconnect: false };
    expect(await two.next('CLOSE')).toEqual(close);
    await two.disconnected();

    // Resuming does not reset the user's count: the next event is refused the same way.
    const resumed = open(user, address(), { session_id: two.sessionId!, seq: two.lastSeq });
    await resumed.next('RESUMED');
    resumed.socket.emit('NOT_A_THING', 8);
    expect(await resumed.next('CLOSE')).toEqual(close);

    // Someone else's events are not counted against them.
    const ack = await other.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'idle' });
    expect(ack).toEqual({ ok: true, status: 'idle' });
  });

  it('limits chosen presence statuses per user before they reach guild-mates', async () => {
    const [user, mate] = await Promise.all([gw.api.register('ab_pr'), gw.api.register('ab_pr_m')]);
    await gw.api.guild(user, [mate]);
    const watcher = await ready(mate, address());
    const one = await ready(user, address());
    const two = await ready(user, address());
    await watcher.next('PRESENCE_UPDATE', (p) => p.d.user.id === user.user.id && p.d.status === 'online');
    const mark = watcher.events.length;
    const choose = (c: GatewayClient, status: string) =>
      c.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status });
    expect(await choose(one, 'idle')).toEqual({ ok: true, status: 'idle' });
    expect(await choose(two, 'dnd')).toEqual({ ok: true, status: 'dnd' });
    expect(await choose(one, 'online')).toEqual({ ok: true, status: 'online' });
    const refused = await choose(two, 'idle');
    expect(refused).toMatchObject({ ok: false, code: 4008 });
    expect(refused.retry_after).toBeGreaterThan(0);
    expect(await two.next('ERROR', (e) => e.code === 4008)).toMatchObject({ code: 4008 });
    expect(two.socket.connected).toBe(true);

    // Everything published after the refusal reaches the watcher after what was published before it.
    await watcher.sentinel(await gw.api.touch(mate));
    const seen = watcher
      .named('PRESENCE_UPDATE', mark)
      .filter((p) => p.d.user.id === user.user.id)
      .map((p) => p.d.status);
    expect(seen).toEqual(['idle', 'dnd', 'online']);
  });
});
