import { EVENT_BUS, type EventBus } from '@parley/bus';
import { VisibilityResolver } from '@parley/realtime';
import { type GatewayClient, VIEW_CHANNEL, useGatewayServer } from './harness';

/**
 * Routing from the gateway's in-memory guild models (monolith, real SQLite and sockets): permission events are
 * applied from their own payloads, cosmetic ones recompute nothing, and a guild that waits holds up no other.
 */
describe('gateway routing from in-memory guild models', () => {
  const gw = useGatewayServer();
  const visibility = () => gw.server.app.get(VisibilityResolver);
  const bus = () => gw.server.app.get<EventBus>(EVENT_BUS);

  /** Spies (calling through to the real resolver) on every storage read routing can make. */
  function readSpies() {
    const v = visibility();
    const spies = [
      jest.spyOn(v, 'shape'),
      jest.spyOn(v, 'member'),
      jest.spyOn(v, 'memberships'),
      jest.spyOn(v, 'lastMessageIds'),
    ];
    return {
      calls: () => spies.reduce((n, s) => n + s.mock.calls.length, 0),
      restore: () => spies.forEach((s) => s.mockRestore()),
    };
  }

  /** A guild with a channel only the `staff` role may view, and a member holding that role, connected. */
  async function staffGuild(tag: string) {
    const [owner, member] = await Promise.all([gw.api.register(`${tag}o`), gw.api.register(`${tag}m`)]);
    const guild = await gw.api.guild(owner, [member]);
    const role = await gw.api.ok<{ id: string }>('POST', `/guilds/${guild.id}/roles`, owner.token, {
      name: 'staff',
    });
    const staff = await gw.api.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
      name: 'staff-only',
      permission_overwrites: [
        { id: guild.id, type: 0, deny: VIEW_CHANNEL },
        { id: role.id, type: 0, allow: VIEW_CHANNEL },
      ],
    });
    await gw.api.ok('PATCH', `/guilds/${guild.id}/members/${member.user.id}`, owner.token, {
      roles: [role.id],
    });
    const [ownerWs, memberWs] = await Promise.all([gw.connect(owner), gw.connect(member)]);
    return { owner, member, guild, role, staff, ownerWs, memberWs };
  }

  const ids = (ws: GatewayClient, type = 'MESSAGE_CREATE') => ws.named(type).map((p) => p.d.id as string);

  it('a guild rename, a role colour, a nickname and a channel rename cause no storage read and no recomputation', async () => {
    const { owner, member, guild, role, staff, memberWs } = await staffGuild('cos');
    const reads = readSpies();
    const recomputes = await routingMetric('parley_gateway_routing_recomputes_total');
    try {
      await gw.api.ok('PATCH', `/guilds/${guild.id}`, owner.token, { name: 'renamed' });
      await gw.api.ok('PATCH', `/guilds/${guild.id}/roles/${role.id}`, owner.token, { color: 0xff0000 });
      await gw.api.ok('PATCH', `/guilds/${guild.id}/members/${member.user.id}`, owner.token, { nick: 'n' });
      await gw.api.ok('PATCH', `/channels/${staff.id}`, owner.token, { name: 'staff-renamed' });
      const after = await gw.api.send(owner, staff.id, 'after the cosmetic changes');
      await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === after.id);
      expect(memberWs.named('GUILD_UPDATE').map((p) => p.d.name)).toEqual(['renamed']);
      expect(memberWs.named('GUILD_ROLE_UPDATE').map((p) => p.d.role.color)).toEqual([0xff0000]);
      expect(memberWs.named('CHANNEL_UPDATE').map((p) => p.d.name)).toEqual(['staff-renamed']);
      expect(reads.calls()).toBe(0);
      expect(await routingMetric('parley_gateway_routing_recomputes_total')).toBe(recomputes);
    } finally {
      reads.restore();
    }
  });

  it('a role removal stops delivery at once, with no storage read', async () => {
    const { owner, member, guild, staff, memberWs } = await staffGuild('rev');
    const before = await gw.api.send(owner, staff.id, 'while staff');
    await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === before.id);
    const reads = readSpies();
    try {
      await gw.api.ok('PATCH', `/guilds/${guild.id}/members/${member.user.id}`, owner.token, { roles: [] });
      // Sent right after the answer: routed after the change, so never to the member.
      const hidden = await gw.api.send(owner, staff.id, 'no longer staff');
      const visible = await gw.api.send(owner, guild.general, 'still a member');
      await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === visible.id);
      await memberWs.next('CHANNEL_DELETE', (p) => p.d.id === staff.id);
      expect(ids(memberWs)).toEqual([before.id, visible.id]);
      expect(ids(memberWs)).not.toContain(hidden.id);
      expect(reads.calls()).toBe(0);
    } finally {
      reads.restore();
    }
  });

  it('revocation uses the event’s data, not storage: storage still says the role is held, the event says it is not', async () => {
    const { owner, member, guild, staff, memberWs } = await staffGuild('evt');
    const reads = readSpies();
    try {
      // As a gateway in another region sees it before its data centre has the change: the event arrives, the
      // member row in storage still lists the role.
      bus().publish({
        type: 'GUILD_MEMBER_UPDATE',
        scope: { kind: 'guild', id: guild.id },
        data: { guild_id: guild.id, user: member.user, nick: null, roles: [] },
        routing: { guildId: guild.id, userId: member.user.id },
      });
      await memberWs.next('CHANNEL_DELETE', (p) => p.d.id === staff.id);
      const stored = await gw.api.ok<{ roles: string[] }>(
        'GET',
        `/guilds/${guild.id}/members/${member.user.id}`,
        owner.token,
      );
      expect(stored.roles).toHaveLength(1); // storage is "stale": it still grants the channel
      const hidden = await gw.api.send(owner, staff.id, 'after the revocation event');
      const visible = await gw.api.send(owner, guild.general, 'sentinel');
      await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === visible.id);
      expect(ids(memberWs)).not.toContain(hidden.id);
      expect(reads.calls()).toBe(0);
    } finally {
      reads.restore();
    }
  });

  it('delivery to other guilds continues while one guild waits on a slow read, and the waiting guild keeps its order', async () => {
    const slow = await staffGuild('slo');
    const [other, otherOwner] = [slow.member, slow.owner];
    const otherGuild = await gw.api.guild(otherOwner, [other]);
    // The member holds a session in both guilds; reconnect so READY has the second one.
    slow.memberWs.close();
    const ws = await gw.connect(other);
    const second = (ws.events[0].payload.d.guilds as Array<{ id: string }>).map((g) => g.id);
    expect(second).toContain(otherGuild.id);
    await gw.api.ok('PATCH', `/guilds/${slow.guild.id}/members/${other.user.id}`, slow.owner.token, {
      roles: [],
    });
    await ws.next('CHANNEL_DELETE', (p) => p.d.id === slow.staff.id);

    // The next change shows the staff channel again, whose CHANNEL_CREATE needs its last message id: that read
    // is held until the test lets it go.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const v = visibility();
    const real = v.lastMessageIds.bind(v);
    const spy = jest.spyOn(v, 'lastMessageIds').mockImplementation(async (channelIds) => {
      await held;
      return real(channelIds);
    });
    try {
      await gw.api.ok('PATCH', `/guilds/${slow.guild.id}/members/${other.user.id}`, slow.owner.token, {
        roles: [slow.role.id],
      });
      const waiting = await gw.api.send(slow.owner, slow.guild.general, 'behind the slow read');
      const elsewhere = await gw.api.send(otherOwner, otherGuild.general, 'another guild');
      await ws.next('MESSAGE_CREATE', (p) => p.d.id === elsewhere.id);
      expect(ids(ws)).not.toContain(waiting.id);
      expect(await routingMetric('parley_gateway_routing_busy_guilds')).toBe(1);
      expect(await routingMetric('parley_gateway_routing_queue_depth')).toBeGreaterThanOrEqual(1);
      release();
      await ws.next('MESSAGE_CREATE', (p) => p.d.id === waiting.id);
      const names = ws.events.map((e) => `${e.name}:${e.payload?.d?.id ?? ''}`);
      expect(names.indexOf(`CHANNEL_CREATE:${slow.staff.id}`)).toBeLessThan(
        names.indexOf(`MESSAGE_CREATE:${waiting.id}`),
      );
      expect(await routingMetric('parley_gateway_routing_queue_depth')).toBe(0);
    } finally {
      release();
      spy.mockRestore();
    }
  });

  /** One unlabelled (or summed) metric from the server's /metrics. */
  async function routingMetric(name: string): Promise<number> {
    const text = await (await fetch(`${gw.server.url}/metrics`)).text();
    let sum = 0;
    for (const line of text.split('\n'))
      if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum += Number(line.split(' ').pop());
    return sum;
  }
});

describe('gateway routing: a guild lane past gateway.routing_queue_limit', () => {
  const gw = useGatewayServer({ routing_queue_limit: 3 });

  it('restarts that guild’s sessions instead of queueing without bound, and other guilds are untouched', async () => {
    const [owner, member, bystander] = await Promise.all([
      gw.api.register('ovo'),
      gw.api.register('ovm'),
      gw.api.register('ovb'),
    ]);
    const guild = await gw.api.guild(owner, [member]);
    const quiet = await gw.api.guild(bystander);
    const hidden = await gw.api.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
      name: 'hidden',
      permission_overwrites: [{ id: member.user.id, type: 1, deny: VIEW_CHANNEL }],
    });
    const [memberWs, bystanderWs] = await Promise.all([gw.connect(member), gw.connect(bystander)]);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const v = gw.server.app.get(VisibilityResolver);
    const real = v.lastMessageIds.bind(v);
    const spy = jest.spyOn(v, 'lastMessageIds').mockImplementation(async (channelIds) => {
      await held;
      return real(channelIds);
    });
    try {
      // Showing the channel waits on its last message id; four more events of the guild pass the bound of 3.
      await gw.api.ok('DELETE', `/channels/${hidden.id}/permissions/${member.user.id}`, owner.token);
      for (let i = 0; i < 4; i++) await gw.api.send(owner, guild.general, `queued ${i}`);
      const close = await memberWs.next('CLOSE', (p) => p.reason === 'internal_error');
      expect(close).toMatchObject({ resumable: false, reconnect: true });
      const elsewhere = await gw.api.send(bystander, quiet.general, 'another guild');
      await bystanderWs.next('MESSAGE_CREATE', (p) => p.d.id === elsewhere.id);
      const text = await (await fetch(`${gw.server.url}/metrics`)).text();
      expect(text).toMatch(/^parley_gateway_routing_queue_overflows_total 1$/m);
    } finally {
      release();
      spy.mockRestore();
    }
  });
});
