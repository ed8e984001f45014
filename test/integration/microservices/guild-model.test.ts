import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type ParleyConfig, loadConfig } from '@parley/config';
import { VisibilityResolver } from '@parley/realtime';
import { type Account, Api, GatewayClient, VIEW_CHANNEL } from './clients';
import {
  SHARED_NATS,
  purgePrefix,
  requireSharedServices,
  startRoleInProcess,
  tempDir,
  uniquePrefix,
} from './processes';

/**
 * Routing from the gateways' in-memory guild models in microservices mode: an api role and two gateway roles in
 * this process (the modules of `npm run start:api` / `start:gateway`), events on the machine's NATS, sessions in
 * its Redis, one SQLite file. The member's session is on gateway B, the owner's on gateway A.
 */
describe('microservices: routing from in-memory guild models', () => {
  const dir = tempDir();
  const prefix = uniquePrefix();
  const apps: NestFastifyApplication[] = [];
  const clients: GatewayClient[] = [];
  let api: Api;
  let gwA: string;
  let gwB: string;
  let visibilityB: VisibilityResolver;

  const configFor = (nodeId: number): ParleyConfig =>
    loadConfig({
      env: {},
      overrides: {
        instance: { deployment_mode: 'microservices', node_id: nodeId },
        database: { sqlite: { path: `${dir.path}/parley.db` } },
        storage: { local: { path: `${dir.path}/files` } },
        server: { host: '127.0.0.1', port: 0 },
        redis: { key_prefix: `${prefix}:` },
        nats: { subject_prefix: prefix },
        media: { signing_secret: `${prefix}-0123456789abcdef0123456789abcdef` },
        rate_limits: { enabled: false },
        logging: { level: 'silent' },
        auth: { argon2: { memory_cost: 1024, time_cost: 1, parallelism: 1 } },
      },
    });
  const connect = async (url: string, account: Account) => {
    const client = await GatewayClient.ready(url, account.token);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    await requireSharedServices();
    api = new Api(await startRoleInProcess('api', configFor(1), apps));
    gwA = await startRoleInProcess('gateway', configFor(2), apps);
    gwB = await startRoleInProcess('gateway', configFor(3), apps);
    visibilityB = apps[2].get(VisibilityResolver);
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await purgePrefix(prefix);
    dir.remove();
  });

  /** Spies (calling through) on every storage read gateway B's routing can make. */
  function readSpies() {
    const spies = [
      jest.spyOn(visibilityB, 'shape'),
      jest.spyOn(visibilityB, 'member'),
      jest.spyOn(visibilityB, 'memberships'),
      jest.spyOn(visibilityB, 'lastMessageIds'),
    ];
    return {
      calls: () => spies.reduce((n, s) => n + s.mock.calls.length, 0),
      restore: () => spies.forEach((s) => s.mockRestore()),
    };
  }

  async function staffGuild(tag: string) {
    const [owner, member] = await Promise.all([api.register(`${tag}o`), api.register(`${tag}m`)]);
    const guild = await api.guild(owner, [member]);
    const role = await api.ok<{ id: string }>('POST', `/guilds/${guild.id}/roles`, owner.token, {
      name: 'staff',
    });
    const staff = await api.ok<{ id: string }>('POST', `/guilds/${guild.id}/channels`, owner.token, {
      name: 'staff-only',
      permission_overwrites: [
        { id: guild.id, type: 0, deny: VIEW_CHANNEL },
        { id: role.id, type: 0, allow: VIEW_CHANNEL },
      ],
    });
    await api.ok('PATCH', `/guilds/${guild.id}/members/${member.user.id}`, owner.token, { roles: [role.id] });
    const [ownerWs, memberWs] = await Promise.all([connect(gwA, owner), connect(gwB, member)]);
    return { owner, member, guild, role, staff, ownerWs, memberWs };
  }

  const ids = (ws: GatewayClient) => ws.named('MESSAGE_CREATE').map((p) => p.d.id as string);

  it('a guild rename and other cosmetic changes cause no storage read by the gateway', async () => {
    const { owner, member, guild, role, staff, memberWs } = await staffGuild('cos');
    const reads = readSpies();
    try {
      await api.ok('PATCH', `/guilds/${guild.id}`, owner.token, { name: 'renamed' });
      await api.ok('PATCH', `/guilds/${guild.id}/roles/${role.id}`, owner.token, { color: 0xff0000 });
      await api.ok('PATCH', `/guilds/${guild.id}/members/${member.user.id}`, owner.token, { nick: 'n' });
      await api.ok('PATCH', `/channels/${staff.id}`, owner.token, { name: 'staff-renamed' });
      const after = await api.send(owner, staff.id, 'after the cosmetic changes');
      await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === after.id);
      expect(memberWs.named('GUILD_UPDATE').map((p) => p.d.name)).toEqual(['renamed']);
      expect(memberWs.named('CHANNEL_UPDATE').map((p) => p.d.name)).toEqual(['staff-renamed']);
      expect(reads.calls()).toBe(0);
    } finally {
      reads.restore();
    }
  });

  it('a role removal on another node stops delivery at once, with no storage read', async () => {
    const { owner, member, guild, staff, memberWs } = await staffGuild('rev');
    const before = await api.send(owner, staff.id, 'while staff');
    await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === before.id);
    const reads = readSpies();
    try {
      await api.ok('PATCH', `/guilds/${guild.id}/members/${member.user.id}`, owner.token, { roles: [] });
      const hidden = await api.send(owner, staff.id, 'no longer staff');
      const visible = await api.send(owner, guild.general, 'still a member');
      await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === visible.id);
      expect(ids(memberWs)).toEqual([before.id, visible.id]);
      expect(ids(memberWs)).not.toContain(hidden.id);
      expect(memberWs.named('CHANNEL_DELETE').map((p) => p.d.id)).toEqual([staff.id]);
      expect(reads.calls()).toBe(0);
    } finally {
      reads.restore();
    }
  });

  it('revocation follows the event on NATS while storage still grants (a region whose data centre lags)', async () => {
    const { owner, member, guild, staff, memberWs } = await staffGuild('evt');
    const reads = readSpies();
    const { connect: natsConnect } = await import('@nats-io/transport-node');
    const nc = await natsConnect({ servers: SHARED_NATS, timeout: 3000 });
    try {
      // What another region's api published: its storage changed, this one's (the shared SQLite file) not.
      nc.publish(
        `${prefix}.ev.guild.${guild.id}`,
        JSON.stringify({
          id: `test-${prefix}-revoke`,
          type: 'GUILD_MEMBER_UPDATE',
          scope: { kind: 'guild', id: guild.id },
          data: { guild_id: guild.id, user: member.user, nick: null, roles: [] },
          routing: { guildId: guild.id, userId: member.user.id },
        }),
      );
      await nc.flush();
      await memberWs.next('CHANNEL_DELETE', (p) => p.d.id === staff.id);
      const stored = await api.ok<{ roles: string[] }>(
        'GET',
        `/guilds/${guild.id}/members/${member.user.id}`,
        owner.token,
      );
      expect(stored.roles).toHaveLength(1);
      const hidden = await api.send(owner, staff.id, 'after the revocation event');
      const visible = await api.send(owner, guild.general, 'sentinel');
      await memberWs.next('MESSAGE_CREATE', (p) => p.d.id === visible.id);
      expect(ids(memberWs)).not.toContain(hidden.id);
      expect(reads.calls()).toBe(0);
    } finally {
      await nc.close();
      reads.restore();
    }
  });

  it('delivery to other guilds continues while one guild waits on a slow read', async () => {
    const slow = await staffGuild('slo');
    const otherGuild = await api.guild(slow.owner, [slow.member]);
    slow.memberWs.close();
    const ws = await connect(gwB, slow.member);
    await api.ok('PATCH', `/guilds/${slow.guild.id}/members/${slow.member.user.id}`, slow.owner.token, {
      roles: [],
    });
    await ws.next('CHANNEL_DELETE', (p) => p.d.id === slow.staff.id);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const real = visibilityB.lastMessageIds.bind(visibilityB);
    const spy = jest.spyOn(visibilityB, 'lastMessageIds').mockImplementation(async (channelIds) => {
      await held;
      return real(channelIds);
    });
    try {
      await api.ok('PATCH', `/guilds/${slow.guild.id}/members/${slow.member.user.id}`, slow.owner.token, {
        roles: [slow.role.id],
      });
      const waiting = await api.send(slow.owner, slow.guild.general, 'behind the slow read');
      const elsewhere = await api.send(slow.owner, otherGuild.general, 'another guild');
      await ws.next('MESSAGE_CREATE', (p) => p.d.id === elsewhere.id);
      expect(ids(ws)).not.toContain(waiting.id);
      release();
      await ws.next('MESSAGE_CREATE', (p) => p.d.id === waiting.id);
      const names = ws.events.map((e) => `${e.name}:${e.payload?.d?.id ?? ''}`);
      expect(names.indexOf(`CHANNEL_CREATE:${slow.staff.id}`)).toBeLessThan(
        names.indexOf(`MESSAGE_CREATE:${waiting.id}`),
      );
    } finally {
      release();
      spy.mockRestore();
    }
  });
});
