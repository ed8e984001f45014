import {
  type Account,
  Api,
  GatewayClient,
  type TestServer,
  TrackedClients,
  startServer,
  waitFor,
} from './harness';

/** Dropped sessions resume with every missed event, in order, once; otherwise INVALID_SESSION and a new READY. */
describe('gateway resume', () => {
  const clients = new TrackedClients();
  const { track } = clients;

  afterEach(() => {
    clients.closeAll();
  });

  describe('within the session ttl', () => {
    let server: TestServer;
    let api: Api;
    let owner: Account;
    let reader: Account;
    let guild: { id: string; general: string };

    beforeAll(async () => {
      server = await startServer({ session_ttl: 60_000, event_retention: 500 });
      api = new Api(server.url);
      [owner, reader] = await Promise.all([api.register('rs_owner'), api.register('rs_reader')]);
      guild = await api.guild(owner, [reader]);
    });

    afterAll(async () => {
      await server?.close();
    });

    it('replays every event missed after a forced disconnect, in order, without duplicates, then RESUMED', async () => {
      const first = track(await GatewayClient.ready(server.url, reader.token));
      const sent: string[] = [];
      for (let i = 0; i < 10; i++) sent.push((await api.send(owner, guild.general, `before ${i}`)).id);
      await first.next('MESSAGE_CREATE', (p) => p.d.id === sent[9]);

      // Cut the TCP connection under the client while another user keeps sending.
      const sending = (async () => {
        for (let i = 0; i < 40; i++) sent.push((await api.send(owner, guild.general, `during ${i}`)).id);
      })();
      first.tcp.destroy();
      await first.disconnected();
      await sending;
      const session = server.gateway.session(first.sessionId!);
      expect(session).toBeDefined();
      await waitFor(() => session!.state === 'detached', 'the server noticed the drop');
      for (let i = 0; i < 5; i++) sent.push((await api.send(owner, guild.general, `after ${i}`)).id);

      const resumed = track(
        new GatewayClient(server.url, reader.token, { session_id: first.sessionId!, seq: first.lastSeq }),
      );
      const at = await resumed.waitIndex('RESUMED');
      const replayed = resumed.events.slice(0, at);
      expect(replayed.every((e) => e.name === 'MESSAGE_CREATE')).toBe(true);
      // Sequence numbers continue exactly where the client stopped.
      expect(replayed.map((e) => e.payload.s)).toEqual(replayed.map((_, i) => first.lastSeq + 1 + i));
      expect(resumed.events[at].payload.s).toBe(first.lastSeq + replayed.length + 1);
      expect(resumed.events[at].payload.d).toMatchObject({
        session_id: first.sessionId,
        replayed: replayed.length,
      });
      const all = [...first.named('MESSAGE_CREATE'), ...replayed.map((e) => e.payload)].map((p) => p.d.id);
      expect(all).toEqual(sent);
      // Replayed as they were published: the author's guild member (Discord's `member`) with them.
      const member = first.named('MESSAGE_CREATE')[0].d.member;
      expect(member).toMatchObject({ nick: null, roles: [] });
      expect(replayed.map((e) => e.payload.d.member)).toEqual(replayed.map(() => member));

      // The session is live again.
      const live = await api.send(owner, guild.general, 'live again');
      const next = await resumed.next('MESSAGE_CREATE', (p) => p.d.id === live.id);
      expect(next.s).toBe(resumed.events[at].payload.s + 1);
    });

    it('resumes from any earlier sequence number still held, replaying from there', async () => {
      const first = track(await GatewayClient.ready(server.url, reader.token));
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await api.send(owner, guild.general, `x${i}`)).id);
      await first.next('MESSAGE_CREATE', (p) => p.d.id === ids[4]);
      const seqOfSecond = first.named('MESSAGE_CREATE').find((p) => p.d.id === ids[1]).s;
      first.tcp.destroy();
      await first.disconnected();
      const resumed = track(
        new GatewayClient(server.url, reader.token, { session_id: first.sessionId!, seq: seqOfSecond }),
      );
      const at = await resumed.waitIndex('RESUMED');
      expect(resumed.events.slice(0, at).map((e) => e.payload.d.id)).toEqual(ids.slice(2));
    });

    it('takes over a session whose old socket has not noticed the drop yet', async () => {
      const first = track(await GatewayClient.ready(server.url, reader.token));
      const m = await api.send(owner, guild.general, 'takeover');
      await first.next('MESSAGE_CREATE', (p) => p.d.id === m.id);
      const second = track(
        new GatewayClient(server.url, reader.token, { session_id: first.sessionId!, seq: first.lastSeq }),
      );
      await second.waitIndex('RESUMED');
      const close = await first.next('CLOSE');
      expect(close).toMatchObject({ reason: 'session_replaced' });
      await first.disconnected();
      const after = await api.send(owner, guild.general, 'after takeover');
      await second.next('MESSAGE_CREATE', (p) => p.d.id === after.id);
    });

    it('refuses another token’s session id, and an unknown one, with INVALID_SESSION then a fresh READY', async () => {
      const victim = track(await GatewayClient.ready(server.url, reader.token));
      const other = await api.login(owner);
      const thief = track(new GatewayClient(server.url, other, { session_id: victim.sessionId!, seq: 1 }));
      await thief.waitIndex('READY');
      expect(thief.events.map((e) => e.name)).toEqual(['INVALID_SESSION', 'READY']);
      expect(thief.events[0].payload).toEqual({ d: { resumable: false } });
      expect(thief.events[1].payload.d.session_id).not.toBe(victim.sessionId);
      expect(thief.events[1].payload.s).toBe(1);
      // The victim's session is untouched.
      const m = await api.send(owner, guild.general, 'still yours');
      await victim.next('MESSAGE_CREATE', (p) => p.d.id === m.id);

      const lost = track(
        new GatewayClient(server.url, reader.token, { session_id: 'no-such-session', seq: 3 }),
      );
      await lost.waitIndex('READY');
      expect(lost.events.map((e) => e.name)).toEqual(['INVALID_SESSION', 'READY']);
    });

    it('refuses a resume from a sequence number the buffer no longer holds', async () => {
      const small = await startServer({ session_ttl: 60_000, event_retention: 5 });
      try {
        const smallApi = new Api(small.url);
        const [o, r] = await Promise.all([smallApi.register('ov_o'), smallApi.register('ov_r')]);
        const g = await smallApi.guild(o, [r]);
        const first = track(await GatewayClient.ready(small.url, r.token));
        first.tcp.destroy();
        await first.disconnected();
        for (let i = 0; i < 8; i++) await smallApi.send(o, g.general, `overflow ${i}`);
        const again = track(
          new GatewayClient(small.url, r.token, { session_id: first.sessionId!, seq: first.lastSeq }),
        );
        await again.waitIndex('READY');
        expect(again.events.map((e) => e.name)).toEqual(['INVALID_SESSION', 'READY']);
      } finally {
        clients.closeAll();
        await small.close();
      }
    });
  });

  describe('after the session ttl', () => {
    let server: TestServer;
    let api: Api;

    beforeAll(async () => {
      server = await startServer({ session_ttl: 200 });
      api = new Api(server.url);
    });

    afterAll(async () => {
      await server?.close();
    });

    it('answers INVALID_SESSION then a fresh READY', async () => {
      const [user, mate] = await Promise.all([api.register('exp'), api.register('exp_mate')]);
      await api.guild(user, [mate]);
      const mateWs = track(await GatewayClient.ready(server.url, mate.token));
      const first = track(await GatewayClient.ready(server.url, user.token));
      await mateWs.next('PRESENCE_UPDATE', (p) => p.d.user.id === user.user.id && p.d.status === 'online');
      first.tcp.destroy();
      await first.disconnected();
      // The session ends when its ttl runs out: its user goes offline for guild-mates.
      await mateWs.next('PRESENCE_UPDATE', (p) => p.d.user.id === user.user.id && p.d.status === 'offline');

      const again = track(
        new GatewayClient(server.url, user.token, { session_id: first.sessionId!, seq: first.lastSeq }),
      );
      await again.waitIndex('READY');
      expect(again.events.map((e) => e.name)).toEqual(['INVALID_SESSION', 'READY']);
      expect(again.events[0].payload).toEqual({ d: { resumable: false } });
      expect(again.events[1].payload.d.session_id).not.toBe(first.sessionId);
      expect(again.events[1].payload.s).toBe(1);
    });
  });
});
