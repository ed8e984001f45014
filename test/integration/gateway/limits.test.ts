import { hashToken } from '@parley/auth';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import type { Connection } from '@parley/realtime';
import { type Account, Api, GatewayClient, type TestServer, startServer, waitFor } from './harness';

/** Slow consumers, inbound limits, bad input, auth failures, logout, coalescing and shutdown. */
describe('gateway limits and bad input', () => {
  const clients: GatewayClient[] = [];
  const track = (c: GatewayClient) => (clients.push(c), c);

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  describe('a client that stops reading', () => {
    let server: TestServer;
    let api: Api;

    beforeAll(async () => {
      server = await startServer({ client_buffer_size: 20, event_retention: 50_000, session_ttl: 120_000 });
      api = new Api(server.url);
    });

    afterAll(async () => {
      await server?.close();
    });

    it('is disconnected as slow_consumer with bounded buffers, others keep receiving, and it can resume', async () => {
      const [owner, slow, steady] = await Promise.all([
        api.register('sc_o'),
        api.register('sc_slow'),
        api.register('sc_steady'),
      ]);
      const guild = await api.guild(owner, [slow, steady]);
      const slowWs = track(await GatewayClient.ready(server.url, slow.token));
      const steadyWs = track(await GatewayClient.ready(server.url, steady.token));
      const session = server.gateway.session(slowWs.sessionId!)!;
      const conn = session.conn!;

      // Stop reading: the kernel buffers fill, then the server's writes back up.
      slowWs.tcp.pause();
      const content = 'x'.repeat(3900);
      const sent: string[] = [];
      while (session.conn === conn && sent.length < 20_000) {
        const batch = await Promise.all(
          Array.from({ length: 10 }, () => api.send(owner, guild.general, content)),
        );
        sent.push(...batch.map((m) => m.id));
      }
      expect(session.conn).toBeNull();
      expect(session.state).toBe('detached');
      // Never more than the limit (plus the frame that crossed it) waited for that socket.
      expect(conn.highWater).toBeLessThanOrEqual(server.config.gateway.client_buffer_size + 1);

      // The others were not held up: the steady reader has every message, in order.
      await steadyWs.next('MESSAGE_CREATE', (p) => p.d.id === sent.at(-1), 0, 30_000);
      expect(steadyWs.named('MESSAGE_CREATE').map((p) => p.d.id)).toEqual(sent);
      // Most of them went pre-framed straight to its socket (Connection's direct writes), the rest through
      // engine.io, interleaved, and socket.io-client decoded both alike.
      const steadyConn = server.gateway.session(steadyWs.sessionId!)!.conn as Connection;
      expect(steadyConn.directWrites).toBeGreaterThan(sent.length / 2);
      // The paused socket's direct writes counted towards its limit like queued frames.
      expect((conn as Connection).directWrites).toBeGreaterThan(0);

      // Reading again, the slow client finds out why it was cut off...
      slowWs.tcp.resume();
      const close = await slowWs.next('CLOSE', undefined, 0, 30_000);
      expect(close).toEqual({ code: 4010, reason: 'slow_consumer', resumable: true, reconnect: true });
      await slowWs.disconnected(30_000);
      // ...and resumes without a gap or a duplicate.
      const resumed = track(
        new GatewayClient(server.url, slow.token, { session_id: slowWs.sessionId!, seq: slowWs.lastSeq }),
      );
      const at = await resumed.waitIndex('RESUMED', undefined, 0, 30_000);
      const ids = [
        ...slowWs.named('MESSAGE_CREATE'),
        ...resumed.events.slice(0, at).map((e) => e.payload),
      ].map((p) => p.d.id);
      expect(ids).toEqual(sent);
    }, 120_000);
  });

  describe('inbound events', () => {
    let server: TestServer;
    let api: Api;
    let user: Account;

    beforeAll(async () => {
      server = await startServer({ inbound_rate: { limit: 8, window_ms: 60_000 }, max_payload: 1024 });
      api = new Api(server.url);
      user = await api.register('in');
    });

    afterAll(async () => {
      await server?.close();
    });

    it('answers unknown events and malformed or oversize payloads with ERROR, and keeps the connection', async () => {
      const ws = track(await GatewayClient.ready(server.url, user.token));
      ws.socket.emit('NOT_A_THING', { x: 1 });
      expect(await ws.next('ERROR')).toMatchObject({ code: 4001 });

      const bad = await ws.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'away' });
      expect(bad).toMatchObject({ ok: false, code: 4002 });
      ws.socket.emit('PRESENCE_UPDATE', 'online');
      ws.socket.emit('PRESENCE_UPDATE', { status: 'online', extra: true });
      const big = await ws.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'x'.repeat(1500) });
      expect(big).toMatchObject({ ok: false, code: 4012 });
      await ws.waitIndex('ERROR', (p) => p.code === 4012);
      expect(ws.named('ERROR').map((p) => p.code)).toEqual([4001, 4002, 4002, 4002, 4012]);
      for (const e of ws.named('ERROR')) expect(typeof e.message).toBe('string');

      const good = await ws.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status: 'idle' });
      expect(good).toEqual({ ok: true, status: 'idle' });
      expect(ws.socket.connected).toBe(true);
    });

    it('closes the connection on a frame far over the payload limit', async () => {
      const ws = track(await GatewayClient.ready(server.url, user.token));
      ws.socket.emit('PRESENCE_UPDATE', { status: 'x'.repeat(10_000) });
      await ws.disconnected();
    });

    it('disconnects a flooding socket with reason rate_limited', async () => {
      const ws = track(await GatewayClient.ready(server.url, user.token));
      for (let i = 0; i < 12; i++) ws.socket.emit('PRESENCE_UPDATE', { status: 'online' });
      expect(await ws.next('CLOSE')).toEqual({
        code: 4008,
        reason: 'rate_limited',
        resumable: true,
        reconnect: false,
      });
      expect(await ws.disconnected()).toBe('io server disconnect');
    });
  });

  describe('authentication and logout', () => {
    let server: TestServer;
    let api: Api;

    beforeAll(async () => {
      server = await startServer({ max_connections: 3 });
      api = new Api(server.url);
    });

    afterAll(async () => {
      await server?.close();
    });

    it('refuses a bad or missing token with connect_error 4004', async () => {
      for (const token of ['not-a-token', '']) {
        const ws = track(new GatewayClient(server.url, token));
        const err = await ws.connectError();
        expect(err.data).toEqual({ code: 4004, message: 'Authentication failed' });
      }
    });

    it('closes the sessions of a token that logs out, and only those', async () => {
      const user = await api.register('lo');
      const second = await api.login(user);
      const [ws, other] = await Promise.all([
        GatewayClient.ready(server.url, user.token),
        GatewayClient.ready(server.url, second),
      ]);
      track(ws);
      track(other);
      await api.ok('POST', '/auth/logout', user.token);
      expect(await ws.next('CLOSE')).toEqual({
        code: 4004,
        reason: 'token_revoked',
        resumable: false,
        reconnect: false,
      });
      expect(await ws.disconnected()).toBe('io server disconnect');
      const name = await api.touch({ ...user, token: second });
      await other.sentinel(name);
      expect(other.socket.connected).toBe(true);
      const again = track(
        new GatewayClient(server.url, user.token, { session_id: ws.sessionId!, seq: ws.lastSeq }),
      );
      expect((await again.connectError()).data?.code).toBe(4004);
    });

    it('closes every session of the user but the kept token’s on USER_SESSIONS_REVOKED', async () => {
      const [user, bystander] = await Promise.all([api.register('lo_all'), api.register('lo_all_by')]);
      const kept = await api.login(user);
      await waitFor(() => server.gateway.socketCount === 0, 'earlier tests’ sockets are gone');
      const [ws, keptWs, other] = await Promise.all([
        GatewayClient.ready(server.url, user.token),
        GatewayClient.ready(server.url, kept),
        GatewayClient.ready(server.url, bystander.token),
      ]);
      [ws, keptWs, other].forEach(track);
      server.app.get<EventBus>(EVENT_BUS).publish({
        type: 'USER_SESSIONS_REVOKED',
        scope: { kind: 'user', id: user.user.id },
        data: { user_id: user.user.id, except_token_hash: hashToken(kept) },
      });
      expect(await ws.next('CLOSE')).toEqual({
        code: 4004,
        reason: 'token_revoked',
        resumable: false,
        reconnect: false,
      });
      await keptWs.sentinel(await api.touch({ ...user, token: kept }));
      await other.sentinel(await api.touch(bystander));
      expect([...keptWs.named('CLOSE'), ...other.named('CLOSE')]).toEqual([]);
    });

    it('refuses connections past gateway.max_connections', async () => {
      const user = await api.register('cap');
      await waitFor(() => server.gateway.socketCount === 0, 'earlier tests’ sockets are gone');
      const open = await Promise.all([0, 1, 2].map(() => GatewayClient.ready(server.url, user.token)));
      open.forEach(track);
      const extra = track(new GatewayClient(server.url, user.token));
      expect((await extra.connectError()).data?.code).toBe(4013);
    });
  });

  describe('write coalescing', () => {
    let server: TestServer;
    let api: Api;

    beforeAll(async () => {
      server = await startServer({ write_coalescing_ms: 30 });
      api = new Api(server.url);
    });

    afterAll(async () => {
      await server?.close();
    });

    it('sends BATCH frames to clients that ask for them, in order, and plain events to the others', async () => {
      const [owner, member] = await Promise.all([api.register('co'), api.register('com')]);
      const guild = await api.guild(owner, [member]);
      const batched = track(await GatewayClient.ready(server.url, member.token, { batch: true }));
      const plain = track(await GatewayClient.ready(server.url, member.token));
      const sent = await Promise.all(
        Array.from({ length: 20 }, (_, i) => api.send(owner, guild.general, `b${i}`)),
      );
      const last = [...sent].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1)).at(-1)!;
      await batched.next('MESSAGE_CREATE', (p) => p.d.id === last.id);
      await plain.next('MESSAGE_CREATE', (p) => p.d.id === last.id);
      const dispatches = batched.events.slice(1);
      expect(dispatches.every((e) => e.batched)).toBe(true);
      expect(dispatches.map((e) => e.payload.s)).toEqual(dispatches.map((_, i) => i + 2));
      expect(batched.named('MESSAGE_CREATE').map((p) => p.d.id)).toEqual(
        plain.named('MESSAGE_CREATE').map((p) => p.d.id),
      );
      expect(plain.events.some((e) => e.batched)).toBe(false);
    });
  });

  describe('shutdown', () => {
    it('tells connected clients to reconnect, then closes', async () => {
      const server = await startServer();
      const api = new Api(server.url);
      const user = await api.register('sd');
      const ws = track(await GatewayClient.ready(server.url, user.token));
      const closing = server.close();
      expect(await ws.next('CLOSE')).toEqual({
        code: 4011,
        reason: 'server_shutdown',
        resumable: false,
        reconnect: true,
      });
      expect(await ws.disconnected()).toBe('transport close');
      await closing;
    });
  });
});
