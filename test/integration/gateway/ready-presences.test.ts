import {
  type Account,
  Api,
  GatewayClient,
  type TestServer,
  VIEW_CHANNEL,
  startServer,
  useGatewayServer,
  waitFor,
} from './harness';

type Presence = { user: { id: string }; user_id: string; status: string };
const byUser = (presences: Presence[]) =>
  Object.fromEntries(presences.map((p) => [p.user.id, p.status])) as Record<string, string>;

/** READY carries the presences of guild-mates who are online (monolith, memory presence, real sockets). */
describe('READY presences', () => {
  const gw = useGatewayServer();
  const connect = (account: Account) => gw.connect(account);

  const readyPresences = (client: GatewayClient): Presence[] => client.events[0].payload.d.presences;

  it('lists online and idle guild-mates once each, not offline, invisible, strangers or oneself', async () => {
    const [me, online, idle, hidden, offline, stranger] = await Promise.all(
      ['rp_me', 'rp_on', 'rp_idle', 'rp_inv', 'rp_off', 'rp_str'].map((n) => gw.api.register(n)),
    );
    // Two shared guilds: `online` is in both and must appear once.
    await gw.api.guild(me, [online, idle, hidden, offline]);
    await gw.api.guild(online, [me]);
    await connect(stranger);
    const onlineWs = await connect(online);
    const idleWs = await connect(idle);
    expect(await idleWs.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'idle' })).toEqual({
      ok: true,
      status: 'idle',
    });
    const hiddenWs = await connect(hidden);
    await hiddenWs.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'invisible' });
    // `offline` was online and left for good.
    const offlineWs = await connect(offline);
    const offlineSession = offlineWs.sessionId!;
    offlineWs.close();
    await waitFor(
      () => gw.server.gateway.session(offlineSession) === undefined,
      'the server ended offline’s session',
    );

    const ws = await connect(me);
    const presences = readyPresences(ws);
    expect(presences).toHaveLength(2);
    expect(byUser(presences)).toEqual({ [online.user.id]: 'online', [idle.user.id]: 'idle' });
    for (const p of presences) expect(p.user_id).toBe(p.user.id);
    expect(onlineWs.sessionId).not.toBeNull();
  });

  it('a reconnecting client (a reload) sees who is online in its new READY, then changes as PRESENCE_UPDATE', async () => {
    const [me, mate] = await Promise.all([gw.api.register('rp_reload'), gw.api.register('rp_mate')]);
    const guild = await gw.api.guild(me, [mate]);
    const first = await connect(me);
    expect(readyPresences(first)).toEqual([]);
    const mateWs = await connect(mate);
    await first.next('PRESENCE_UPDATE', (p) => p.d.user.id === mate.user.id && p.d.status === 'online');
    first.close();

    const reloaded = await connect(me);
    expect(byUser(readyPresences(reloaded))).toEqual({ [mate.user.id]: 'online' });
    await mateWs.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'dnd' });
    const update = await reloaded.next('PRESENCE_UPDATE', (p) => p.d.user.id === mate.user.id);
    expect(update.d).toEqual({ user: { id: mate.user.id }, guild_id: guild.id, status: 'dnd' });
  });

  it('includes guild-mates who cannot see any channel the user sees (presence is per guild)', async () => {
    const [me, mate] = await Promise.all([gw.api.register('rp_ch'), gw.api.register('rp_chm')]);
    const guild = await gw.api.guild(me, [mate]);
    await gw.api.ok('PUT', `/channels/${guild.general}/permissions/${mate.user.id}`, me.token, {
      type: 1,
      allow: '0',
      deny: VIEW_CHANNEL,
    });
    await connect(mate);
    const ws = await connect(me);
    expect(byUser(readyPresences(ws))).toEqual({ [mate.user.id]: 'online' });
  });
});

describe('READY presences are bounded by gateway.ready_presence_limit', () => {
  let server: TestServer;
  let api: Api;
  const clients: GatewayClient[] = [];

  beforeAll(async () => {
    server = await startServer({ ready_presence_limit: 3 });
    api = new Api(server.url);
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    await server?.close();
  });

  it('looks up at most that many guild-mates', async () => {
    const me = await api.register('rp_cap');
    const mates = await Promise.all([1, 2, 3, 4, 5].map((i) => api.register(`rp_cap${i}`)));
    await api.guild(me, mates);
    for (const mate of mates) clients.push(await GatewayClient.ready(server.url, mate.token));
    const ws = await GatewayClient.ready(server.url, me.token);
    clients.push(ws);
    const presences: Presence[] = ws.events[0].payload.d.presences;
    // The first three members by user id are looked up: the owner (registered first) and the two lowest mates.
    const lowest = mates
      .map((m) => m.user.id)
      .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
      .slice(0, 2);
    expect(byUser(presences)).toEqual({ [lowest[0]]: 'online', [lowest[1]]: 'online' });
  });
});
