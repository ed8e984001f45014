import { type Account, Api, GatewayClient } from './clients';
import {
  OwnService,
  type RoleProcess,
  clusterEnv,
  startRole,
  stopAllRoles,
  tempDir,
  uniquePrefix,
} from './processes';
import { waitFor } from '../../support/wait';

jest.setTimeout(120_000);

interface SubDetail {
  subject: string;
  msgs: number;
}

/**
 * Interest-only delivery, read from the NATS server's own monitoring (`/connz?subs=detail`): what each gateway
 * node subscribes to and how many events it was sent. This file starts its own nats-server with the monitoring
 * port on, never the machine's shared one.
 */
describe('microservices: a gateway node receives only the events its sessions may see', () => {
  const dir = tempDir();
  const prefix = uniquePrefix();
  const clients: GatewayClient[] = [];
  const track = (c: GatewayClient) => (clients.push(c), c);
  let nats: OwnService;
  let api: RoleProcess;
  let gw1: RoleProcess;
  let gw2: RoleProcess;
  let a: Api;
  let owner: Account;
  let reader: Account;
  let guild: { id: string; general: string };

  /** The subscriptions of the process whose NATS connection is named `parley-<role>-<node id>`. */
  const subscriptions = async (name: string): Promise<SubDetail[]> => {
    const res = await fetch(`http://127.0.0.1:${nats.monitorPort}/connz?subs=detail&limit=1024`);
    const body = (await res.json()) as {
      connections: { name?: string; subscriptions_list_detail?: SubDetail[] }[];
    };
    const conn = body.connections.find((c) => c.name === name);
    if (!conn) throw new Error(`no NATS connection named ${name}`);
    return conn.subscriptions_list_detail ?? [];
  };

  /** Whether a subscription (NATS wildcards `*` and `>`) matches a subject. */
  const matches = (pattern: string, subject: string): boolean => {
    const p = pattern.split('.');
    const t = subject.split('.');
    for (let i = 0; i < p.length; i++) {
      if (p[i] === '>') return t.length > i;
      if (i >= t.length || (p[i] !== '*' && p[i] !== t[i])) return false;
    }
    return p.length === t.length;
  };
  /** Subscriptions that match some guild, channel or user event (any id: a token no real id has). */
  const eventSubscriptions = async (name: string) =>
    (await subscriptions(name)).filter((s) =>
      ['guild', 'channel', 'user'].some(
        (kind) =>
          matches(s.subject, `${prefix}.ev.${kind}.x`) || s.subject.startsWith(`${prefix}.ev.${kind}.`),
      ),
    );
  /** Events the server sent a node on a subject, through whichever of its subscriptions match it. */
  const received = async (name: string, subject: string) =>
    (await subscriptions(name)).filter((s) => matches(s.subject, subject)).reduce((n, s) => n + s.msgs, 0);

  beforeAll(async () => {
    nats = await OwnService.start('nats', { monitor: true });
    const env = {
      ...clusterEnv(prefix, `${dir.path}/parley.db`, { nats: nats.url }),
      PARLEY__RATE_LIMITS__ENABLED: 'false',
    };
    api = await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' });
    [gw1, gw2] = await Promise.all([
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '2' }),
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '3' }),
    ]);
    a = new Api(api.url);
    [owner, reader] = await Promise.all([a.register('int_owner'), a.register('int_reader')]);
    guild = await a.guild(owner, [reader]);
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await stopAllRoles();
    await nats?.remove();
    dir.remove();
  });

  it('a gateway without sessions subscribes to no guild, channel or user events, only the lean invalidations', async () => {
    // Traffic of every kind meanwhile: none of it may be subscribed to (or sent to) an idle gateway.
    await a.send(owner, guild.general, 'nobody is connected');
    await a.ok('PATCH', `/guilds/${guild.id}`, owner.token, { name: 'renamed' });
    await a.touch(owner);
    for (const name of ['parley-gateway-2', 'parley-gateway-3', 'parley-api-1']) {
      expect({ name, subjects: (await eventSubscriptions(name)).map((s) => s.subject) }).toEqual({
        name,
        subjects: [],
      });
      // Token and permission caches hear of changes on the invalidation stream, outside `<prefix>.ev.>`.
      expect((await subscriptions(name)).map((s) => s.subject)).toContain(`${prefix}.inv`);
    }
  });

  it('a gateway with sessions subscribes to exactly the scopes they may see, and each event reaches it once', async () => {
    const channels = await a.ok<{ id: string }[]>('GET', `/guilds/${guild.id}/channels`, owner.token);
    const sender = track(await GatewayClient.ready(gw1.url, owner.token));
    const expected = [
      `${prefix}.ev.user.${owner.user.id}`,
      `${prefix}.ev.guild.${guild.id}`,
      ...channels.map((c) => `${prefix}.ev.channel.${c.id}`),
    ].sort();
    await waitFor(
      async () =>
        JSON.stringify((await eventSubscriptions('parley-gateway-2')).map((s) => s.subject).sort()) ===
        JSON.stringify(expected),
      'gateway 2 subscribes to the owner, its guild and its channels',
    );
    expect((await eventSubscriptions('parley-gateway-2')).map((s) => s.subject).sort()).toEqual(expected);
    expect(await eventSubscriptions('parley-gateway-3')).toEqual([]);

    const receiver = track(await GatewayClient.ready(gw2.url, reader.token));

    // Events received per gateway per delivered event, both gateways interested: 1.0 (no second copy).
    const marker = await a.send(owner, guild.general, 'baseline');
    await receiver.next('MESSAGE_CREATE', (p) => p.d.id === marker.id);
    await sender.next('MESSAGE_CREATE', (p) => p.d.id === marker.id);
    const channel = `${prefix}.ev.channel.${guild.general}`;
    const gateways = ['parley-gateway-2', 'parley-gateway-3'];
    const before = await Promise.all(gateways.map((g) => received(g, channel)));
    const count = 20;
    const sent: string[] = [];
    for (let i = 0; i < count; i++) sent.push((await a.send(owner, guild.general, `m${i}`)).id);
    for (const c of [receiver, sender]) await c.next('MESSAGE_CREATE', (p) => p.d.id === sent[count - 1]);
    const after = await Promise.all(gateways.map((g) => received(g, channel)));
    expect(after.map((n, i) => (n - before[i]) / count)).toEqual([1, 1]);
    for (const c of [receiver, sender])
      expect(
        c
          .named('MESSAGE_CREATE')
          .map((p) => p.d.id)
          .filter((id: string) => sent.includes(id)),
      ).toEqual(sent);
  });
});
