import { type Account, Api, GatewayClient, waitFor } from './clients';
import { pause } from '../../support/wait';
import {
  type RoleProcess,
  clusterEnv,
  clusterScope,
  requireSharedServices,
  startRole,
  storedMessageCount,
} from './processes';

/**
 * Microservices mode as real processes on loopback ports against the machine's Redis and NATS: api x2,
 * gateway x2, queue, media-proxy, one SQLite file (WAL) shared by all of them.
 */
jest.setTimeout(120_000);

describe('microservices mode: api x2, gateway x2, queue, media-proxy', () => {
  const { dir, prefix, track, cleanUp } = clusterScope();
  let env: Record<string, string>;
  let api1: RoleProcess;
  let api2: RoleProcess;
  let gw1: RoleProcess;
  let gw2: RoleProcess;
  let queue: RoleProcess;
  let media: RoleProcess;
  let a1: Api;
  let a2: Api;
  let owner: Account;
  let reader: Account;
  let guild: { id: string; general: string };

  beforeAll(async () => {
    await requireSharedServices();
    env = {
      ...clusterEnv(prefix, `${dir.path}/parley.db`),
      // Limits on, but high enough for the flows; the typing route is tight to test limits across instances.
      PARLEY__RATE_LIMITS__GLOBAL: '{"limit":100000,"window_ms":1000}',
      'PARLEY__RATE_LIMITS__ROUTES__MESSAGES.TYPING': '{"limit":3,"window_ms":600000}',
      'PARLEY__RATE_LIMITS__ROUTES__MESSAGES.CREATE': '{"limit":100000,"window_ms":1000}',
      'PARLEY__RATE_LIMITS__ROUTES__AUTH.REGISTER': '{"limit":100000,"window_ms":1000}',
      'PARLEY__RATE_LIMITS__ROUTES__AUTH.LOGIN': '{"limit":100000,"window_ms":1000}',
      'PARLEY__RATE_LIMITS__ROUTES__INVITES.JOIN': '{"limit":100000,"window_ms":1000}',
      'PARLEY__RATE_LIMITS__ROUTES__GUILDS.CREATE': '{"limit":100000,"window_ms":1000}',
      PARLEY__GATEWAY__SESSION_TTL: '120000',
      PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    };
    // The first process applies the migrations; the rest start together.
    api1 = await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' });
    [api2, gw1, gw2, queue, media] = await Promise.all([
      startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '2' }),
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '3' }),
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '4' }),
      startRole('queue', { ...env, PARLEY__INSTANCE__NODE_ID: '5' }),
      startRole('media-proxy', { ...env, PARLEY__INSTANCE__NODE_ID: '6' }),
    ]);
    a1 = new Api(api1.url);
    a2 = new Api(api2.url);
    [owner, reader] = await Promise.all([a1.register('ms_owner'), a2.register('ms_reader')]);
    guild = await a1.guild(owner, [reader]);
  });

  afterAll(() => cleanUp());

  it('serves health, readiness (with NATS and Redis) and metrics on every process', async () => {
    for (const p of [api1, api2, gw1, gw2, queue, media]) {
      expect((await fetch(`${p.url}/health/live`)).status).toBe(200);
      const ready = await fetch(`${p.url}/health/ready`);
      expect({ role: p.role, status: ready.status }).toEqual({ role: p.role, status: 200 });
      const body = (await ready.json()) as { checks: Record<string, string> };
      expect(body.checks['database:sqlite']).toBe('ok');
      if (p.role !== 'media-proxy') expect(body.checks.nats).toBe('ok');
      if (p.role !== 'queue') expect(body.checks.redis).toBe('ok');
      expect(await (await fetch(`${p.url}/metrics`)).text()).toContain('process_resident_memory_bytes');
    }
    // Only the api serves REST.
    expect((await fetch(`${gw1.url}/api/v1/users/@me`)).status).toBe(404);
    expect((await fetch(`${queue.url}/api/v1/users/@me`)).status).toBe(404);
    expect((await fetch(`${media.url}/api/v1/users/@me`)).status).toBe(404);
  });

  it('stores an attachment through api 1, announces it on gateway 2, and serves it from the media proxy', async () => {
    const receiver = track(await GatewayClient.ready(gw2.url, reader.token));
    const bytes = Buffer.from('plain text, stored by the api, served by the media proxy\n');
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(bytes)], { type: 'text/plain' }), 'note.txt');
    const upload = await fetch(`${api1.url}/api/v1/channels/${guild.general}/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}` },
      body: form,
    });
    expect(upload.status).toBe(201);
    const attachment = (await upload.json()) as { id: string };
    const message = await a2.ok<{ id: string; attachments: { url: string }[] }>(
      'POST',
      `/channels/${guild.general}/messages`,
      owner.token,
      { content: 'see attached', attachment_ids: [attachment.id] },
    );
    const got = await receiver.next('MESSAGE_CREATE', (p) => p.d.id === message.id);
    expect(got.d.attachments[0].url).toBe(message.attachments[0].url);
    const served = await fetch(`${media.url}${message.attachments[0].url}`);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(bytes);
    expect((await fetch(`${api1.url}${message.attachments[0].url}`)).status).toBe(404); // not the api's job
  });

  it('delivers a message sent through api 1 by a user on gateway 1 to a user on gateway 2', async () => {
    const sender = track(await GatewayClient.ready(gw1.url, owner.token));
    const receiver = track(await GatewayClient.ready(gw2.url, reader.token));
    expect(receiver.named('READY')[0].d.guilds.map((g: { id: string }) => g.id)).toContain(guild.id);
    const sent = await a1.send(owner, guild.general, 'across nodes');
    const got = await receiver.next('MESSAGE_CREATE', (p) => p.d.id === sent.id);
    expect(got.d).toMatchObject({ content: 'across nodes', channel_id: guild.general });
    await sender.next('MESSAGE_CREATE', (p) => p.d.id === sent.id);
    // Interest routing: a guild nobody on gateway 2 belongs to is not delivered there.
    const other = await a1.guild(owner);
    const lonely = await a1.send(owner, other.general, 'only gateway 1 cares');
    await sender.next('MESSAGE_CREATE', (p) => p.d.id === lonely.id);
    const marker = await a2.send(owner, guild.general, 'marker');
    await receiver.next('MESSAGE_CREATE', (p) => p.d.id === marker.id);
    expect(receiver.named('MESSAGE_CREATE').map((p) => p.d.id)).not.toContain(lonely.id);
  });

  it('delivers what is sent right after a routing change: a guild joined, a channel created, a DM opened', async () => {
    const receiver = track(await GatewayClient.ready(gw2.url, reader.token));
    const expected: string[] = [];
    for (let i = 0; i < 4; i++) {
      // Joined through api 2, written to at once through api 1: gateway 2 subscribes to the guild meanwhile.
      const joined = await a1.guild(owner);
      const invite = await a1.ok<{ code: string }>(
        'POST',
        `/channels/${joined.general}/invites`,
        owner.token,
        {},
      );
      await a2.ok('POST', `/invites/${invite.code}`, reader.token);
      expected.push((await a1.send(owner, joined.general, `welcome ${i}`)).id);
      // A channel created and written to at once.
      const channel = await a2.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
        name: `fresh-${i}`,
        type: 0,
      });
      expected.push((await a1.send(owner, channel.id, `first words ${i}`)).id);
      // A DM opened by someone new and written to at once.
      const stranger = await a1.register(`dm_${i}`);
      // The reader takes DMs from strangers (the default is users sharing a guild, docs/moderation.md).
      if (i === 0) await a1.ok('PATCH', '/users/@me/privacy', reader.token, { direct_messages: 'everyone' });
      const dm = await a1.ok<{ id: string }>('POST', '/users/@me/channels', stranger.token, {
        recipient_id: reader.user.id,
      });
      expected.push((await a2.send(stranger, dm.id, `hello ${i}`)).id);
    }
    for (const id of expected) await receiver.next('MESSAGE_CREATE', (p) => p.d.id === id);
    const got = receiver.named('MESSAGE_CREATE').map((p) => p.d.id as string);
    // Each message is in a channel of its own: order is promised per channel, not across channels (a scope
    // being caught up can deliver after a live one), so what is checked here is every message exactly once.
    expect(got.filter((id) => expected.includes(id)).sort()).toEqual([...expected].sort());
  });

  it('resumes on gateway 1 a session dropped from gateway 2, with every missed event once, in order', async () => {
    const first = track(await GatewayClient.ready(gw2.url, reader.token));
    const before = await a1.send(owner, guild.general, 'before the drop');
    await first.next('MESSAGE_CREATE', (p) => p.d.id === before.id);
    const seq = first.lastSeq;
    const sessionId = first.sessionId!;

    first.tcp.destroy();
    await first.disconnected();
    const missed: string[] = [];
    for (let i = 0; i < 12; i++)
      missed.push((await (i % 2 ? a2 : a1).send(owner, guild.general, `missed ${i}`)).id);

    const resumed = track(new GatewayClient(gw1.url, reader.token, { session_id: sessionId, seq }));
    const at = await resumed.waitIndex('RESUMED');
    const replayed = resumed.events.slice(0, at);
    expect(replayed.map((e) => e.name)).toEqual(missed.map(() => 'MESSAGE_CREATE'));
    expect(replayed.map((e) => e.payload.d.id)).toEqual(missed);
    expect(replayed.map((e) => e.payload.s)).toEqual(missed.map((_, i) => seq + 1 + i));
    expect(resumed.events[at].payload.d).toMatchObject({ session_id: sessionId, replayed: missed.length });
    expect(resumed.named('READY')).toEqual([]);
    expect(resumed.named('INVALID_SESSION')).toEqual([]);

    // Live again, on gateway 1 now, numbering on from there, and gateway 2 no longer holds it.
    const after = await a2.send(owner, guild.general, 'after the resume');
    const live = await resumed.next('MESSAGE_CREATE', (p) => p.d.id === after.id, at);
    expect(live.s).toBe(resumed.events[at].payload.s + 1);
    const again = track(new GatewayClient(gw2.url, reader.token, { session_id: sessionId, seq: live.s }));
    const resumedAgain = await again.waitIndex('RESUMED');
    expect(again.events.slice(0, resumedAgain)).toEqual([]);
    // Gateway 1 gave it up to gateway 2 and told its connection why.
    await resumed.next('CLOSE', (p) => p.reason === 'session_replaced');
  });

  it('answers a resume it cannot honour with INVALID_SESSION and a fresh READY', async () => {
    const stranger = track(
      new GatewayClient(gw1.url, reader.token, { session_id: 'no-such-session', seq: 3 }),
    );
    await stranger.next('INVALID_SESSION');
    const ready = await stranger.next('READY');
    expect(ready.d.session_id).not.toBe('no-such-session');
  });

  it('holds a rate limit across both api instances', async () => {
    const results: Response[] = [];
    for (let i = 0; i < 4; i++) {
      results.push(
        await fetch(`${(i % 2 ? api2 : api1).url}/api/v1/channels/${guild.general}/typing`, {
          method: 'POST',
          headers: { authorization: `Bearer ${reader.token}` },
        }),
      );
    }
    expect(results.map((r) => r.status)).toEqual([204, 204, 204, 429]);
    expect(results[1].headers.get('x-ratelimit-remaining')).toBe('1');
    const refused = results[3];
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect(await refused.json()).toMatchObject({ code: 20028, retry_after: expect.any(Number) });
  });

  it("follows on api 2 the permission, membership and token changes made through api 1 (each api's caches)", async () => {
    const member = await a2.register('ms_cached');
    const g = await a1.guild(owner, [member]);
    const send = (token: string) =>
      a2.call('POST', `/channels/${g.general}/messages`, token, { content: 'through api 2' });
    // Warm api 2's caches: token, channel, guild with roles, member.
    expect((await send(member.token)).status).toBe(200);
    expect((await send(member.token)).status).toBe(200);

    // An overwrite denying SEND_MESSAGES (1 << 11) to this member, set through api 1.
    await a1.ok('PUT', `/channels/${g.general}/permissions/${member.user.id}`, owner.token, {
      type: 1,
      allow: '0',
      deny: String(1 << 11),
    });
    await waitFor(async () => (await send(member.token)).status === 403, 'api 2 refuses the send (403)');
    await a1.ok('DELETE', `/channels/${g.general}/permissions/${member.user.id}`, owner.token);
    await waitFor(async () => (await send(member.token)).status === 200, 'api 2 accepts the send again');

    // Kicked through api 1: api 2 no longer lets the member see the channel.
    await a1.ok('DELETE', `/guilds/${g.id}/members/${member.user.id}`, owner.token);
    await waitFor(async () => (await send(member.token)).status === 404, 'api 2 hides the channel (404)');

    // Logged out through api 1: the token stops working on api 2.
    const second = await a1.login(member);
    expect((await a2.call('GET', '/users/@me', second)).status).toBe(200);
    expect((await a1.call('POST', '/auth/logout', second)).status).toBe(204);
    await waitFor(
      async () => (await a2.call('GET', '/users/@me', second)).status === 401,
      'api 2 refuses the revoked token (401)',
    );
  });

  it('runs a job published while the queue process was stopped once it starts', async () => {
    const channel = await a1.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
      name: 'doomed',
      type: 0,
    });
    for (let i = 0; i < 5; i++) await a1.send(owner, channel.id, `doomed ${i}`);
    const count = () => storedMessageCount(`${dir.path}/parley.db`, channel.id);
    expect(count()).toBe(5);

    expect(await queue.stop('SIGTERM')).toBe(0);
    expect((await a2.call('DELETE', `/channels/${channel.id}`, owner.token)).status).toBe(200);
    // Nobody consumes: the purge waits in JetStream (a quiet window in which nothing may delete a row).
    await pause(500);
    expect(count()).toBe(5);

    queue = await startRole('queue', { ...env, PARLEY__INSTANCE__NODE_ID: '5' });
    await waitFor(() => Promise.resolve(count() === 0), 'the purge job ran');
    const metrics = await (await fetch(`${queue.url}/metrics`)).text();
    expect(metrics).toMatch(/parley_jobs_completed_total\{name="channel.purge_messages",outcome="ok"\} 1/);
  });

  it('gives replicas that share one configuration distinct node ids when they claim them', async () => {
    const shared = { ...env, PARLEY__INSTANCE__NODE_ID: '0', PARLEY__INSTANCE__CLAIM_NODE_ID: 'true' };
    const replicas = await Promise.all([startRole('api', shared), startRole('api', shared)]);
    const ids = replicas.map((p) => Number(/"node_id":(\d+)/.exec(p.output())?.[1]));
    expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < 128)).toBe(true);
    expect(ids[0]).not.toBe(ids[1]);
    // Each answers with ids minted under its own node id.
    const [m1, m2] = await Promise.all(
      replicas.map((p) => new Api(p.url).send(owner, guild.general, `from node ${p.url}`)),
    );
    const nodeOf = (id: string) => Number((BigInt(id) >> 12n) & 127n);
    expect([nodeOf(m1.id), nodeOf(m2.id)]).toEqual(ids);
    expect(await Promise.all(replicas.map((p) => p.stop('SIGTERM')))).toEqual([0, 0]);
  });

  it('drains on SIGTERM: a gateway tells its clients to resume elsewhere and exits 0', async () => {
    // Nobody resumes here: it waits for takers only a second (gateway.drain.timeout), then exits.
    const gw3 = await startRole('gateway', {
      ...env,
      PARLEY__INSTANCE__NODE_ID: '7',
      PARLEY__GATEWAY__DRAIN__TIMEOUT: '1000',
    });
    const client = track(await GatewayClient.ready(gw3.url, reader.token));
    const exit = gw3.stop('SIGTERM');
    const close = await client.next('CLOSE');
    expect(close).toMatchObject({ reason: 'server_shutdown', resumable: true, reconnect: true });
    expect(await exit).toBe(0);
    await waitFor(() => !client.socket.connected, 'the client was disconnected');
  });
});
