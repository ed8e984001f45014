import { createInflate, constants } from 'node:zlib';
import WebSocket from 'ws';
import { Client, type ServerProcess, request, startServer, tempDir, waitFor } from './harness';

const GUILDS = 1 << 0;
const GUILD_MEMBERS = 1 << 1;
const GUILD_MESSAGES = 1 << 9;
const MESSAGE_CONTENT = 1 << 15;

interface Payload {
  op: number;
  t?: string | null;
  s?: number | null;
  d: any;
}

/** A raw Discord-protocol client: what discord.js does, step by step, so each rule can be checked alone. */
class RawDiscordClient {
  readonly received: Payload[] = [];
  closeCode: number | null = null;
  readonly ws: WebSocket;
  private readonly opened: Promise<void>;

  constructor(url: string, zlib = false) {
    this.ws = new WebSocket(`${url}?v=10&encoding=json${zlib ? '&compress=zlib-stream' : ''}`);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('close', (code) => (this.closeCode = code));
    if (zlib) {
      // One inflate context for the whole connection; a message ends where a frame ends in 00 00 ff ff.
      const inflate = createInflate({ finishFlush: constants.Z_SYNC_FLUSH });
      let text = '';
      inflate.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      this.ws.on('message', (data: Buffer) => {
        inflate.write(data);
        inflate.flush(constants.Z_SYNC_FLUSH, () => {
          if (!text) return;
          this.received.push(JSON.parse(text) as Payload);
          text = '';
        });
      });
    } else {
      this.ws.on('message', (data: Buffer) => this.received.push(JSON.parse(data.toString()) as Payload));
    }
  }

  async send(op: number, d: unknown): Promise<void> {
    await this.opened;
    this.ws.send(JSON.stringify({ op, d }));
  }

  next(match: (p: Payload) => boolean, what: string): Promise<Payload> {
    return waitFor(() => this.received.find(match), what);
  }

  dispatches(t: string): Payload[] {
    return this.received.filter((p) => p.op === 0 && p.t === t);
  }

  async closed(): Promise<number> {
    return waitFor(() => this.closeCode, 'the socket to close');
  }

  close(): void {
    this.ws.terminate();
  }
}

/** Discord's REST dialect and gateway protocol rules, one by one, against the compiled monolith. */
describe('Discord compatibility: /api/v10 and the Discord gateway (monolith on SQLite)', () => {
  const dir = tempDir();
  let server: ServerProcess;
  let owner: Client;
  let guildId: string;
  let generalId: string;
  let gatewayUrl: string;
  const open: RawDiscordClient[] = [];

  const connect = (zlib = false) => {
    const c = new RawDiscordClient(gatewayUrl, zlib);
    open.push(c);
    return c;
  };
  const bot = async (flags: number) => {
    const app = await owner.post('/applications', { name: `bot ${open.length}`, flags });
    expect(app.status).toBe(201);
    expect((await owner.put(`/guilds/${guildId}/members/${app.body.id}`)).status).toBe(201);
    return app.body as { id: string; token: string };
  };
  const identify = async (c: RawDiscordClient, token: string, intents: number) => {
    await c.next((p) => p.op === 10, 'HELLO');
    await c.send(2, { token, intents, properties: { os: 'linux', browser: 'test', device: 'test' } });
  };

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
    });
    owner = new Client(server.url);
    await owner.register('owner');
    guildId = (await owner.post('/guilds', { name: 'Protocol' })).body.id;
    generalId = (await owner.get(`/guilds/${guildId}/channels`)).body.find(
      (c: { name: string }) => c.name === 'general',
    ).id;
    const info = await request(`${server.url}/api/v10/gateway`, 'GET');
    gatewayUrl = info.body.url;
  });

  afterAll(async () => {
    for (const c of open) c.close();
    await server?.stop();
    dir.remove();
  });

  describe('REST under /api/v10', () => {
    it('serves the same routes, GET /gateway and /gateway/bot in Discord shapes', async () => {
      expect(gatewayUrl).toBe(`${server.url.replace('http', 'ws')}/discord-gateway`);
      const app = await bot(0);
      const gb = await request(`${server.url}/api/v10/gateway/bot`, 'GET', {
        headers: { authorization: `Bot ${app.token}` },
      });
      expect(gb.status).toBe(200);
      expect(gb.body).toEqual({
        url: gatewayUrl,
        shards: 1,
        session_start_limit: expect.objectContaining({ total: expect.any(Number), max_concurrency: 1 }),
      });
      const me = await request(`${server.url}/api/v10/users/@me`, 'GET', {
        headers: { authorization: `Bot ${app.token}` },
      });
      expect(me.body).toMatchObject({ id: app.id, bot: true });
      const current = await request(`${server.url}/api/v9/applications/@me`, 'GET', {
        headers: { authorization: `Bot ${app.token}` },
      });
      expect(current.body).toMatchObject({ id: app.id, bot: { id: app.id, bot: true } });
    });

    it('accepts and ignores the fields Discord clients send that Parley does not use; /api/v1 stays strict', async () => {
      const body = {
        content: 'edited',
        embeds: [],
        components: [],
        flags: null,
        allowed_mentions: { parse: [], replied_user: false },
        attachments: [],
      };
      const sent = await owner.post(`/channels/${generalId}/messages`, { content: 'original', tts: false });
      expect(sent.status).toBe(200);
      const v1 = await owner.patch(`/channels/${generalId}/messages/${sent.body.id}`, body);
      expect(v1.status).toBe(400);
      const v10 = await request(
        `${server.url}/api/v10/channels/${generalId}/messages/${sent.body.id}`,
        'PATCH',
        {
          token: owner.token,
          body,
        },
      );
      expect(v10.status).toBe(200);
      expect(v10.body.content).toBe('edited');
      const role = await request(`${server.url}/api/v10/guilds/${guildId}/roles`, 'POST', {
        token: owner.token,
        body: { name: 'Mods', hoist: true, mentionable: false, icon: null, unicode_emoji: null, color: null },
      });
      expect(role.status).toBe(201);
      expect(role.body.name).toBe('Mods');
    });

    it("answers invalid bodies with Discord's nested errors", async () => {
      const res = await request(`${server.url}/api/v10/guilds/${guildId}/roles`, 'POST', {
        token: owner.token,
        body: { name: 'x'.repeat(200), color: 'red' },
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 50035,
        message: 'Invalid Form Body',
        errors: {
          name: { _errors: [expect.objectContaining({ code: 'BASE_TYPE_MAX_LENGTH' })] },
          color: { _errors: [expect.objectContaining({ code: 'BASE_TYPE_INVALID' })] },
        },
      });
    });
  });

  describe('gateway protocol', () => {
    it('closes 4004 on a bad token and 4014 on privileged intents the application lacks', async () => {
      const bad = connect();
      await identify(bad, 'not-a-token', GUILDS);
      expect(await bad.closed()).toBe(4004);
      const app = await bot(0);
      const greedy = connect();
      await identify(greedy, app.token, GUILDS | MESSAGE_CONTENT);
      expect(await greedy.closed()).toBe(4014);
    });

    it('sends HELLO, READY with unavailable guilds then GUILD_CREATE each, and ACKs heartbeats', async () => {
      const app = await bot(1 << 14); // GATEWAY_GUILD_MEMBERS
      const c = connect();
      const hello = await c.next((p) => p.op === 10, 'HELLO');
      expect(hello.d.heartbeat_interval).toBeGreaterThan(0);
      await identify(c, app.token, GUILDS | GUILD_MEMBERS);
      const ready = await c.next((p) => p.t === 'READY', 'READY');
      expect(ready.s).toBe(1);
      expect(ready.d).toMatchObject({
        v: 10,
        user: { id: app.id, bot: true },
        guilds: [{ id: guildId, unavailable: true }],
        resume_gateway_url: gatewayUrl,
        application: { id: app.id, flags: 1 << 14 },
      });
      const created = await c.next((p) => p.t === 'GUILD_CREATE', 'GUILD_CREATE');
      expect(created.s).toBe(2);
      expect(created.d).toMatchObject({ id: guildId, unavailable: false });
      expect(created.d.channels.map((ch: { id: string }) => ch.id)).toContain(generalId);
      await c.send(1, 2);
      await c.next((p) => p.op === 11, 'HEARTBEAT_ACK');
    });

    it('filters dispatches by intents and blanks content without MESSAGE_CONTENT (not when mentioned)', async () => {
      const withContent = await bot(1 << 18);
      const without = await bot(0);
      const noMessages = await bot(0);
      const a = connect();
      const b = connect();
      const n = connect();
      await identify(a, withContent.token, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT);
      await identify(b, without.token, GUILDS | GUILD_MESSAGES);
      await identify(n, noMessages.token, GUILDS);
      for (const c of [a, b, n]) await c.next((p) => p.t === 'GUILD_CREATE', 'GUILD_CREATE');
      const plain = await owner.post(`/channels/${generalId}/messages`, { content: 'secret words' });
      const mention = await owner.post(`/channels/${generalId}/messages`, { content: `hi <@${without.id}>` });
      await a.next((p) => p.t === 'MESSAGE_CREATE' && p.d.id === mention.body.id, 'a: mention');
      await b.next((p) => p.t === 'MESSAGE_CREATE' && p.d.id === mention.body.id, 'b: mention');
      expect(a.dispatches('MESSAGE_CREATE').find((p) => p.d.id === plain.body.id)?.d.content).toBe(
        'secret words',
      );
      expect(b.dispatches('MESSAGE_CREATE').find((p) => p.d.id === plain.body.id)?.d.content).toBe('');
      expect(b.dispatches('MESSAGE_CREATE').find((p) => p.d.id === mention.body.id)?.d.content).toContain(
        'hi',
      );
      // The GUILDS-only session got a later guild event but no message.
      await owner.post(`/guilds/${guildId}/channels`, { name: 'later' });
      await n.next((p) => p.t === 'CHANNEL_CREATE', 'CHANNEL_CREATE');
      expect(n.dispatches('MESSAGE_CREATE')).toHaveLength(0);
    });

    it('resumes a dropped session replaying exactly what was missed, and refuses an unknown one', async () => {
      const app = await bot(1 << 18);
      const first = connect();
      await identify(first, app.token, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT);
      const ready = await first.next((p) => p.t === 'READY', 'READY');
      await first.next((p) => p.t === 'GUILD_CREATE', 'GUILD_CREATE');
      const seq = Math.max(...first.received.map((p) => p.s ?? 0));
      first.close();
      await first.closed();
      const missed = await owner.post(`/channels/${generalId}/messages`, { content: 'missed one' });

      const second = connect(true); // and over zlib-stream
      await second.next((p) => p.op === 10, 'HELLO');
      await second.send(6, { token: app.token, session_id: ready.d.session_id, seq });
      await second.next((p) => p.t === 'RESUMED', 'RESUMED');
      const replayed = second.dispatches('MESSAGE_CREATE');
      expect(replayed.map((p) => p.d.id)).toEqual([missed.body.id]);
      expect(replayed[0].s).toBe(seq + 1);

      const third = connect();
      await third.next((p) => p.op === 10, 'HELLO');
      await third.send(6, { token: app.token, session_id: 'e.unknownsession', seq: 3 });
      const invalid = await third.next((p) => p.op === 9, 'INVALID_SESSION');
      expect(invalid.d).toBe(false);
    });

    it('closes 4001 on an unknown opcode and 4002 on a payload that is not JSON', async () => {
      const a = connect();
      await a.send(99, null);
      expect(await a.closed()).toBe(4001);
      const b = connect();
      await b.next((p) => p.op === 10, 'HELLO');
      b.ws.send('{not json');
      expect(await b.closed()).toBe(4002);
    });
  });
});
