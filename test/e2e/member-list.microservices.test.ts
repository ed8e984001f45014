import { type ListItem, ListCopy, type ListOp } from '@parley/realtime';
import { type Account, Api, GatewayClient, waitFor } from '../integration/microservices/clients';
import {
  type RoleProcess,
  clusterEnv,
  clusterScope,
  requireSharedServices,
  startRole,
} from '../integration/microservices/processes';

jest.setTimeout(120_000);

/** What a client shows: its copy kept from every update it got, over its connections in order (a resume). */
function shown(client: GatewayClient | GatewayClient[], guildId: string): string {
  const copy = new ListCopy();
  for (const c of Array.isArray(client) ? client : [client])
    for (const p of c.named('GUILD_MEMBER_LIST_UPDATE'))
      if (p.d.guild_id === guildId) copy.apply(p.d.groups, p.d.ops as ListOp[]);
  return copy
    .range(0, 99)
    .map((item: ListItem | undefined) =>
      !item
        ? '?'
        : 'group' in item
          ? `[${item.group.id} ${item.group.count}]`
          : `${String((item.member as any).user.display_name ?? (item.member as any).user.username).split('_')[0]}:${(item.member as any).presence.status}`,
    )
    .join(',');
}

/**
 * Member lists across two gateways (microservices over NATS): each gateway keeps its own list for the guilds its
 * sessions subscribe to, and both stay exact: presence of a large guild reaches them on the `members:` scope,
 * membership on the guild's.
 */
describe('member lists with two gateways (microservices)', () => {
  const { dir, prefix, track, cleanUp } = clusterScope();
  let api: RoleProcess;
  let gw1: RoleProcess;
  let gw2: RoleProcess;
  let a: Api;
  let owner: Account, amy: Account, ben: Account, cal: Account;
  let guild: { id: string; general: string };

  beforeAll(async () => {
    await requireSharedServices();
    const env = {
      ...clusterEnv(prefix, `${dir.path}/parley.db`),
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      // Four members: a large guild, whose connects are not announced on its scope.
      PARLEY__GATEWAY__PRESENCE_LARGE_THRESHOLD: '2',
    };
    api = await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' });
    [gw1, gw2] = await Promise.all([
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '2' }),
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '3' }),
    ]);
    a = new Api(api.url);
    owner = await a.register('owner');
    amy = await a.register('amy');
    ben = await a.register('ben');
    cal = await a.register('cal');
    guild = await a.guild(owner, [amy, ben, cal]);
  });

  afterAll(() => cleanUp());

  it('both gateways keep exact lists: presence from either node, a member removed', async () => {
    const one = track(await GatewayClient.ready(gw1.url, owner.token));
    const two = track(await GatewayClient.ready(gw2.url, amy.token));
    for (const c of [one, two]) {
      const ack = await c.socket.emitWithAck('GUILD_SUBSCRIPTIONS', {
        guild_id: guild.id,
        channels: { [guild.general]: [[0, 99]] },
      });
      expect(ack).toEqual({ ok: true });
    }
    const expectBoth = (want: string) =>
      Promise.all(
        [one, two].map((c) => waitFor(() => shown(c, guild.id) === want || undefined, `list ${want}`)),
      );
    await expectBoth('[online 2],amy:online,owner:online');

    // ben connects on gateway 1, cal on gateway 2: both lists hear both.
    track(await GatewayClient.ready(gw1.url, ben.token));
    const cals = track(await GatewayClient.ready(gw2.url, cal.token));
    await expectBoth('[online 4],amy:online,ben:online,cal:online,owner:online');
    cals.close();
    await expectBoth('[online 3],amy:online,ben:online,owner:online');

    await a.ok('DELETE', `/guilds/${guild.id}/members/${ben.user.id}`, owner.token);
    await expectBoth('[online 2],amy:online,owner:online');
    const last = one.named('GUILD_MEMBER_LIST_UPDATE').at(-1).d;
    expect(last).toMatchObject({ member_count: 3, online_count: 2 });
  });

  it('a subscription follows its session to the other gateway: changes there arrive after RESUMED without subscribing again', async () => {
    const dee = await a.register('dee');
    const eli = await a.register('eli');
    const fay = await a.register('fay');
    const gil = await a.register('gil');
    const own = await a.guild(dee, [eli, fay, gil]);
    const first = track(await GatewayClient.ready(gw1.url, dee.token));
    await first.socket.emitWithAck('GUILD_SUBSCRIPTIONS', {
      guild_id: own.id,
      channels: { [own.general]: [[0, 99]] },
    });
    await waitFor(
      () => shown(first, own.id) === '[online 1],dee:online' || undefined,
      'the SYNC on gateway 1',
    );

    // The session moves to gateway 2 (a resume there takes it over from gateway 1).
    const moved = track(
      new GatewayClient(gw2.url, dee.token, { session_id: first.sessionId!, seq: first.lastSeq }),
    );
    const resumedAt = await moved.waitIndex('RESUMED');
    await first.next('CLOSE', (p) => p.reason === 'session_replaced');
    // The list comes again after RESUMED, as a fresh subscription's would.
    const syncAt = await moved.waitIndex('GUILD_MEMBER_LIST_UPDATE', (p) => p.d.guild_id === own.id);
    expect(syncAt).toBeGreaterThan(resumedAt);
    expect(moved.events[syncAt].payload.d.ops).toEqual([
      expect.objectContaining({ op: 'SYNC', range: [0, 99] }),
    ]);

    // Changes seen by gateway 2: a presence of this large guild (its members: scope), a profile change (the
    // invalidation stream), a member removed (the guild's scope); the client never subscribed again.
    const client = [first, moved];
    track(await GatewayClient.ready(gw2.url, eli.token));
    await waitFor(
      () => shown(client, own.id) === '[online 2],dee:online,eli:online' || undefined,
      'eli online in the moved list',
    );
    track(await GatewayClient.ready(gw1.url, fay.token));
    await waitFor(
      () => shown(client, own.id) === '[online 3],dee:online,eli:online,fay:online' || undefined,
      'fay online in the moved list',
    );
    await a.ok('PATCH', '/users/@me', fay.token, { display_name: 'Ada' });
    await waitFor(
      () => shown(client, own.id) === '[online 3],Ada:online,dee:online,eli:online' || undefined,
      "fay's new name in the moved list",
    );
    await a.ok('DELETE', `/guilds/${own.id}/members/${eli.user.id}`, dee.token);
    await waitFor(
      () => shown(client, own.id) === '[online 2],Ada:online,dee:online' || undefined,
      'eli removed from the moved list',
    );
    expect(moved.named('GUILD_MEMBER_LIST_UPDATE').at(-1).d).toMatchObject({
      member_count: 3,
      online_count: 2,
    });
  });
});
