import WebSocket from 'ws';
import { ListCopy, type ListItem, type ListOp } from '@parley/realtime';
import { type Account, Api, GatewayClient, TrackedClients } from '../support/clients';
import { type ServerProcess, startServer, tempDir, waitFor } from './harness';

interface Payload {
  op: number;
  t?: string | null;
  d: any;
}

/** A raw Discord-protocol client (what a Discord user client does for op 14). */
class RawDiscordClient {
  readonly received: Payload[] = [];
  closeCode: number | null = null;
  private readonly ws: WebSocket;
  private readonly opened: Promise<void>;

  constructor(url: string) {
    this.ws = new WebSocket(`${url}?v=10&encoding=json`);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('close', (code) => (this.closeCode = code));
    this.ws.on('message', (data: Buffer) => this.received.push(JSON.parse(data.toString()) as Payload));
  }

  async send(op: number, d: unknown): Promise<void> {
    await this.opened;
    this.ws.send(JSON.stringify({ op, d }));
  }

  async identify(token: string): Promise<void> {
    await waitFor(() => this.received.find((p) => p.op === 10), 'HELLO');
    await this.send(2, { token, intents: 0, properties: { os: 'linux', browser: 'test', device: 'test' } });
    await waitFor(() => this.received.find((p) => p.t === 'READY'), 'READY');
  }

  dispatches(t: string): any[] {
    return this.received.filter((p) => p.op === 0 && p.t === t).map((p) => p.d);
  }

  close(): void {
    this.ws.terminate();
  }
}

/** What a client shows: its copy of the list, kept from every GUILD_MEMBER_LIST_UPDATE it received. */
function shown(updates: any[], range: [number, number]): Array<string> {
  const copy = new ListCopy();
  for (const u of updates) copy.apply(u.groups, u.ops as ListOp[]);
  return copy
    .range(range[0], range[1])
    .map((item: ListItem | undefined) =>
      !item ? '?' : 'group' in item ? `[${item.group.id} ${item.group.count}]` : nameOf(item.member),
    );
}

function nameOf(member: any): string {
  return `${String(member.user.username).split('_')[0]}:${member.presence.status}`;
}

/** Member lists (lazy guilds) on both transports of the monolith (SQLite). */
describe('member lists: GUILD_SUBSCRIPTIONS / op 14 and GUILD_MEMBER_LIST_UPDATE (monolith on SQLite)', () => {
  const dir = tempDir();
  const clients = new TrackedClients();
  const raw: RawDiscordClient[] = [];
  let server: ServerProcess;
  let api: Api;
  let owner: Account, ann: Account, bob: Account, cid: Account;
  let guild: { id: string; general: string };

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      // Four members is a small guild, five a large one.
      PARLEY__GATEWAY__PRESENCE_LARGE_THRESHOLD: '4',
    });
    api = new Api(server.url);
    owner = await api.register('owner');
    ann = await api.register('ann');
    bob = await api.register('bob');
    cid = await api.register('cid');
    guild = await api.guild(owner, [ann, bob, cid]);
  });

  afterAll(async () => {
    clients.closeAll();
    for (const c of raw) c.close();
    await server?.stop();
    dir.remove();
  });

  const updates = (c: GatewayClient, guildId: string) =>
    c
      .named('GUILD_MEMBER_LIST_UPDATE')
      .map((p) => p.d)
      .filter((d) => d.guild_id === guildId);

  it('socket.io: SYNC of the subscribed range, then exact ops as members come online, leave and join', async () => {
    const watcher = clients.track(await GatewayClient.ready(server.url, owner.token));
    const ack = await watcher.socket.emitWithAck('GUILD_SUBSCRIPTIONS', {
      guild_id: guild.id,
      channels: { [guild.general]: [[0, 99]] },
    });
    expect(ack).toEqual({ ok: true });
    const first = await watcher.next('GUILD_MEMBER_LIST_UPDATE');
    expect(first.d).toMatchObject({
      guild_id: guild.id,
      id: 'everyone',
      member_count: 4,
      online_count: 1,
      groups: [
        { id: 'online', count: 1 },
        { id: 'offline', count: 3 },
      ],
      ops: [{ op: 'SYNC', range: [0, 99] }],
    });
    expect(shown(updates(watcher, guild.id), [0, 99])).toEqual([
      '[online 1]',
      'owner:online',
      '[offline 3]',
      'ann:offline',
      'bob:offline',
      'cid:offline',
    ]);

    // bob connects: moves from offline to online.
    clients.track(await GatewayClient.ready(server.url, bob.token));
    await waitFor(
      () =>
        shown(updates(watcher, guild.id), [0, 99]).join() ===
          '[online 2],bob:online,owner:online,[offline 2],ann:offline,cid:offline' || undefined,
      'bob online in the list',
    );

    // A chosen status is an UPDATE in place.
    const bobs = clients.track(await GatewayClient.ready(server.url, bob.token));
    await bobs.socket.emitWithAck('PRESENCE_UPDATE', { status: 'dnd' });
    await waitFor(
      () => shown(updates(watcher, guild.id), [0, 99]).includes('bob:dnd') || undefined,
      'bob dnd in the list',
    );

    // cid is kicked: leaves the list.
    await api.ok('DELETE', `/guilds/${guild.id}/members/${cid.user.id}`, owner.token);
    await waitFor(
      () =>
        shown(updates(watcher, guild.id), [0, 99]).join() ===
          '[online 2],bob:dnd,owner:online,[offline 1],ann:offline' || undefined,
      'cid removed from the list',
    );
    expect(updates(watcher, guild.id).at(-1)).toMatchObject({ member_count: 3, online_count: 2 });

    // abe joins by invite: inserted at its place (offline, no session).
    const abe = await api.register('abe');
    const invite = await api.ok<{ code: string }>(
      'POST',
      `/channels/${guild.general}/invites`,
      owner.token,
      {},
    );
    await api.ok('POST', `/invites/${invite.code}`, abe.token);
    await waitFor(
      () =>
        shown(updates(watcher, guild.id), [0, 99]).join() ===
          '[online 2],bob:dnd,owner:online,[offline 2],abe:offline,ann:offline' || undefined,
      'abe added to the list',
    );
    expect(updates(watcher, guild.id).at(-1)).toMatchObject({ member_count: 4, online_count: 2 });
  });

  it("a private channel's list is its audience, under its own id; a member who may not view it gets nothing", async () => {
    const channel = await api.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
      name: 'staff',
      permission_overwrites: [
        { id: guild.id, type: 0, allow: '0', deny: String(1 << 10) },
        { id: bob.user.id, type: 1, allow: String(1 << 10), deny: '0' },
      ],
    });
    const watcher = clients.track(await GatewayClient.ready(server.url, owner.token));
    await watcher.socket.emitWithAck('GUILD_SUBSCRIPTIONS', {
      guild_id: guild.id,
      channels: { [channel.id]: [[0, 99]] },
    });
    const sync = (await watcher.next('GUILD_MEMBER_LIST_UPDATE')).d;
    expect(sync.id).toMatch(/^\d+$/);
    expect(sync.member_count).toBe(2);
    expect(shown([sync], [0, 99]).filter((r) => !r.startsWith('['))).toEqual(['bob:dnd', 'owner:online']);

    const outsider = clients.track(await GatewayClient.ready(server.url, ann.token));
    expect(
      await outsider.socket.emitWithAck('GUILD_SUBSCRIPTIONS', {
        guild_id: guild.id,
        channels: { [channel.id]: [[0, 99]] },
      }),
    ).toEqual({ ok: true });
    // The general list, subscribed after it, comes; the private one never did.
    await outsider.socket.emitWithAck('GUILD_SUBSCRIPTIONS', {
      guild_id: guild.id,
      channels: { [guild.general]: [[0, 99]] },
    });
    const first = (await outsider.next('GUILD_MEMBER_LIST_UPDATE')).d;
    expect(first.id).toBe('everyone');
    expect(outsider.named('GUILD_MEMBER_LIST_UPDATE')).toHaveLength(1);
  });

  it("a member's profile change (USER_UPDATE) updates the rows showing them, re-sorted by the new name", async () => {
    const gus = await api.register('gus');
    const hal = await api.register('hal');
    const ivy = await api.register('ivy');
    const small = await api.guild(gus, [hal, ivy]);
    const watcher = clients.track(await GatewayClient.ready(server.url, gus.token));
    await watcher.socket.emitWithAck('GUILD_SUBSCRIPTIONS', {
      guild_id: small.id,
      channels: { [small.general]: [[0, 99]] },
    });
    const names = () => {
      const copy = new ListCopy();
      for (const u of updates(watcher, small.id)) copy.apply(u.groups, u.ops as ListOp[]);
      return copy
        .range(0, 99)
        .map((item) =>
          !item
            ? '?'
            : 'group' in item
              ? `[${item.group.id}]`
              : String(
                  (item.member as any).user.display_name ?? (item.member as any).user.username.split('_')[0],
                ),
        )
        .join();
    };
    await waitFor(() => names() === '[online],gus,[offline],hal,ivy' || undefined, 'the SYNC');

    // ivy's new display name sorts before hal: her row moves.
    await api.ok('PATCH', '/users/@me', ivy.token, { display_name: 'Abby' });
    await waitFor(() => names() === '[online],gus,[offline],Abby,hal' || undefined, 'ivy renamed and moved');
    // hal's stays after it: an UPDATE in place.
    const before = updates(watcher, small.id).length;
    await api.ok('PATCH', '/users/@me', hal.token, { display_name: 'Bert' });
    await waitFor(() => names() === '[online],gus,[offline],Abby,Bert' || undefined, 'hal renamed in place');
    expect(
      updates(watcher, small.id)
        .slice(before)
        .flatMap((u) => u.ops.map((o: ListOp) => o.op)),
    ).toEqual(['UPDATE']);
  });

  it('a session resumed on the same node keeps its subscription: changes after RESUMED arrive without subscribing again', async () => {
    const jon = await api.register('jon');
    const kim = await api.register('kim');
    const small = await api.guild(jon, [kim]);
    const first = clients.track(await GatewayClient.ready(server.url, jon.token));
    await first.socket.emitWithAck('GUILD_SUBSCRIPTIONS', {
      guild_id: small.id,
      channels: { [small.general]: [[0, 99]] },
    });
    await first.next('GUILD_MEMBER_LIST_UPDATE');
    first.tcp.destroy();
    await first.disconnected();

    const resumed = clients.track(
      new GatewayClient(server.url, jon.token, { session_id: first.sessionId!, seq: first.lastSeq }),
    );
    await resumed.next('RESUMED');
    clients.track(await GatewayClient.ready(server.url, kim.token));
    // The client's copy is what it kept from before the drop plus what came after the resume.
    await waitFor(
      () =>
        shown([...updates(first, small.id), ...updates(resumed, small.id)], [0, 99]).join() ===
          '[online 2],jon:online,kim:online' || undefined,
      'kim online in the resumed list',
    );
  });

  it('socket.io: malformed subscriptions are refused with 4002', async () => {
    const c = clients.track(await GatewayClient.ready(server.url, ann.token));
    const six = Array.from({ length: 6 }, (_, i) => [i * 100, i * 100 + 99]);
    for (const bad of [
      { guild_id: guild.id, channels: { [guild.general]: six } },
      { guild_id: guild.id, channels: { [guild.general]: [[0, 199]] } },
      { guild_id: guild.id, channels: { [guild.general]: [[0, 99]], '123': [[0, 99]] } },
      { guild_id: 'nope' },
    ]) {
      const ack = await c.socket.emitWithAck('GUILD_SUBSCRIPTIONS', bad);
      expect(ack).toMatchObject({ ok: false, code: 4002 });
    }
  });

  it('Discord gateway op 14: a large guild lists online members only; a session not subscribed hears nothing', async () => {
    const dan = await api.register('dan');
    const eve = await api.register('eve');
    const big = await api.guild(owner, [ann, bob, dan, eve]);
    const url = `${server.url.replace('http', 'ws')}/discord-gateway`;
    const viewer = new RawDiscordClient(url);
    const bystander = new RawDiscordClient(url);
    raw.push(viewer, bystander);
    await viewer.identify(ann.token);
    await bystander.identify(dan.token);
    await viewer.send(14, {
      guild_id: big.id,
      typing: true,
      activities: true,
      channels: { [big.general]: [[0, 99]] },
    });
    const list = () => viewer.dispatches('GUILD_MEMBER_LIST_UPDATE').filter((d) => d.guild_id === big.id);
    await waitFor(() => list()[0], 'the SYNC');
    expect(list()[0]).toMatchObject({ member_count: 5, groups: [{ id: 'online' }] });
    const before = shown(list(), [0, 99]);
    expect(before).toEqual(expect.arrayContaining(['ann:online', 'dan:online']));
    expect(before.some((s) => s.startsWith('eve:'))).toBe(false);

    // eve connects: a connect in a large guild is not announced to its members, but the list hears it.
    const eves = clients.track(await GatewayClient.ready(server.url, eve.token));
    await waitFor(() => shown(list(), [0, 99]).includes('eve:online') || undefined, 'eve online in the list');
    eves.close();
    await waitFor(
      () => !shown(list(), [0, 99]).includes('eve:online') || undefined,
      'eve gone from the list',
    );
    expect(list().at(-1)).toMatchObject({ member_count: 5 });

    // The bystander subscribed to nothing: it got no list update at all.
    expect(bystander.dispatches('GUILD_MEMBER_LIST_UPDATE')).toEqual([]);

    // Six ranges is a decode error (4002), as Discord closes on a bad payload.
    await viewer.send(14, {
      guild_id: big.id,
      channels: { [big.general]: Array.from({ length: 6 }, (_, i) => [i * 100, i * 100 + 99]) },
    });
    await waitFor(() => viewer.closeCode ?? undefined, 'the close');
    expect(viewer.closeCode).toBe(4002);
  });
});
