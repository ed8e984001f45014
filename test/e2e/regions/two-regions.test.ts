import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type Account,
  Api,
  GatewayClient,
  TrackedClients,
  VIEW_CHANNEL,
  waitFor,
} from '../../integration/microservices/clients';
import {
  EU,
  type Endpoints,
  REGION_IDS,
  RegionStack,
  type StreamState,
  US,
  nodeOf,
  regionOf,
  regionStreams,
} from './stack';

/**
 * Two regions on this machine, as `npm run regions:up` starts them: eu-west (Cassandra dc1, its NATS, Redis, api,
 * gateway, queue) and us-east (dc2, likewise), the regions' NATS joined by a gateway connection. Real processes
 * only; the stack is started by this file and everything it started is stopped in afterAll.
 * Run with `npm run test:regions` (its own CI stage: it starts and stops a Cassandra data centre).
 */

// Replication between regions is asynchronous: what one region wrote is read in the other once it arrived.
const REPLICATION_WAIT_MS = 60_000;
// After a region's return its data centre catches up by hinted handoff (dispatched every ~10 s per node).
const CATCH_UP_WAIT_MS = 240_000;

const stack = new RegionStack({
  // The flows, not argon2 or the public rate limits, are under test.
  PARLEY__RATE_LIMITS__ENABLED: 'false',
  PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
  PARLEY__LOGGING__LEVEL: 'warn',
});
let endpoints: Endpoints;
let eu: Api;
let us: Api;
const clients = new TrackedClients();
const { track } = clients;

/** Polls without asserting any duration (the one poller, with the argument order this file reads best in). */
const eventually = <T>(what: string, probe: () => Promise<T | false | null | undefined>, timeoutMs: number) =>
  waitFor(probe, what, timeoutMs, 250);

/** History of a channel through one region's api, oldest first (the API answers newest first). */
async function history(
  api: Api,
  token: string,
  channelId: string,
): Promise<{ id: string; content: string }[]> {
  const page = await api.ok<{ id: string; content: string }[]>(
    'GET',
    `/channels/${channelId}/messages?limit=100`,
    token,
  );
  return [...page].reverse();
}

/** MESSAGE_CREATE contents a client received in one channel, in arrival order. */
function received(client: GatewayClient, channelId: string): { id: string; content: string }[] {
  return client
    .named('MESSAGE_CREATE')
    .map((p: { d: { id: string; content: string; channel_id: string } }) => ({
      id: p.d.id,
      content: p.d.content,
      channel: p.d.channel_id,
    }))
    .filter((m: { channel: string }) => m.channel === channelId)
    .map(({ id, content }: { id: string; content: string }) => ({ id, content }));
}

describe('two regions joined by NATS gateways, one Cassandra data centre each', () => {
  let bob: Account; // lives in eu-west
  let alice: Account; // lives in us-east
  let dave: Account; // eu-west, a receiver in the sender's own region
  let guildId: string;
  let channel: string;
  const sentByBob: string[] = [];

  beforeAll(async () => {
    endpoints = await stack.up();
    try {
      await setUp();
    } catch (err) {
      // The processes' own words are the only clue when one has gone (destroy() deletes their logs).
      throw new Error(`${(err as Error).message}\nThe regions' logs:\n${stack.logTails()}`, { cause: err });
    }
  });

  async function setUp(): Promise<void> {
    expect(Object.keys(endpoints.regions).sort()).toEqual([EU, US]);
    eu = new Api(endpoints.regions[EU]!.api);
    us = new Api(endpoints.regions[US]!.api);
    [bob, dave] = [await eu.register('bob'), await eu.register('dave')];
    alice = await us.register('alice');
    const guild = await eu.ok<{ id: string; channels: { id: string }[] }>('POST', '/guilds', bob.token, {
      name: 'across the ocean',
    });
    guildId = guild.id;
    channel = guild.channels[0].id;
    const invite = await eu.ok<{ code: string }>('POST', `/channels/${channel}/invites`, bob.token, {});
    await eu.ok('POST', `/invites/${invite.code}`, dave.token);
    // Alice joins through her own region, once the invite (written in dc1) has replicated to dc2.
    await eventually(
      'the invite is usable in us-east',
      async () => (await us.call('POST', `/invites/${invite.code}`, alice.token)).status === 200,
      REPLICATION_WAIT_MS,
    );
  }

  afterAll(async () => {
    clients.closeAll();
    await stack.destroy();
  });

  it('starts both regions with their own region ids, NATS JetStream domains and node ids', async () => {
    for (const region of [EU, US] as const) {
      const api = endpoints.regions[region]!.api;
      const ready = (await (await fetch(`${api}/health/ready`)).json()) as { checks: Record<string, string> };
      expect(ready.checks).toMatchObject({ nats: 'ok', redis: 'ok', 'database:cassandra': 'ok' });
    }
    expect(regionOf(bob.user.id)).toBe(REGION_IDS[EU]);
    expect(regionOf(alice.user.id)).toBe(REGION_IDS[US]);
  });

  it('delivers to Alice on us-east’s gateway, in order, what Bob sends through eu-west’s api; us-east’s history has it', async () => {
    const aliceWs = track(await GatewayClient.ready(endpoints.regions[US]!.gateway, alice.token));
    const daveWs = track(await GatewayClient.ready(endpoints.regions[EU]!.gateway, dave.token));
    const guilds = (c: GatewayClient) => (c.events[0].payload.d.guilds as { id: string }[]).map((g) => g.id);
    expect(guilds(aliceWs)).toContain(guildId);
    expect(guilds(daveWs)).toContain(guildId);

    for (let i = 0; i < 30; i++) sentByBob.push((await eu.send(bob, channel, `bob ${i}`)).id);
    const last = sentByBob[sentByBob.length - 1];
    for (const client of [aliceWs, daveWs]) {
      await client.next('MESSAGE_CREATE', (p) => p.d.id === last, 0, 30_000);
      // Every receiver, in either region, sees the channel in the order it was written.
      expect(received(client, channel).map((m) => m.id)).toEqual(sentByBob);
    }
    // Alice reads the history in her own region once dc2 has the messages.
    const read = await eventually(
      'us-east history holds all 30 messages',
      async () => {
        const page = await history(us, alice.token, channel);
        return sentByBob.every((id) => page.some((m) => m.id === id)) && page;
      },
      REPLICATION_WAIT_MS,
    );
    expect(read.map((m) => m.id)).toEqual(sentByBob); // same order in history as on the wire
  });

  it('keeps each sender’s order for every receiver when both regions write to one channel', async () => {
    const aliceWs = track(await GatewayClient.ready(endpoints.regions[US]!.gateway, alice.token));
    const daveWs = track(await GatewayClient.ready(endpoints.regions[EU]!.gateway, dave.token));
    const fromBob: string[] = [];
    const fromAlice: string[] = [];
    for (let i = 0; i < 15; i++) {
      fromBob.push((await eu.send(bob, channel, `interleaved bob ${i}`)).id);
      fromAlice.push((await us.send(alice, channel, `interleaved alice ${i}`)).id);
    }
    for (const client of [aliceWs, daveWs]) {
      for (const id of [fromBob[14], fromAlice[14]])
        await client.next('MESSAGE_CREATE', (p) => p.d.id === id, 0, 30_000);
      const order = received(client, channel).map((m) => m.id);
      expect(order.filter((id) => fromBob.includes(id))).toEqual(fromBob);
      expect(order.filter((id) => fromAlice.includes(id))).toEqual(fromAlice);
    }
  });

  it('revokes at once in the other region: a role removed through eu-west stops us-east delivering, from the event alone', async () => {
    const aliceWs = track(await GatewayClient.ready(endpoints.regions[US]!.gateway, alice.token));
    const role = await eu.ok<{ id: string }>('POST', `/guilds/${guildId}/roles`, bob.token, {
      name: 'staff',
    });
    const staff = await eu.ok<{ id: string }>('POST', `/guilds/${guildId}/channels`, bob.token, {
      name: 'staff-only',
      permission_overwrites: [
        { id: guildId, type: 0, deny: VIEW_CHANNEL },
        { id: role.id, type: 0, allow: VIEW_CHANNEL },
      ],
    });
    await eu.ok('PATCH', `/guilds/${guildId}/members/${alice.user.id}`, bob.token, { roles: [role.id] });
    // us-east's gateway shows Alice the channel from the events (its data centre may not have the role yet).
    await aliceWs.next('CHANNEL_CREATE', (p) => p.d.id === staff.id, 0, 30_000);
    const granted = await eu.send(bob, staff.id, 'for staff');
    await aliceWs.next('MESSAGE_CREATE', (p) => p.d.id === granted.id, 0, 30_000);

    const gatewayMetrics = async () => (await fetch(`${endpoints.regions[US]!.gateway}/metrics`)).text();
    const reads = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('parley_gateway_routing_reads_total{'))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    const readsBefore = reads(await gatewayMetrics());
    await eu.ok('PATCH', `/guilds/${guildId}/members/${alice.user.id}`, bob.token, { roles: [] });
    // Published right after the change was answered in eu-west: us-east routes it after the change, whatever
    // dc2 holds by then, so Alice never gets it.
    const revoked = await eu.send(bob, staff.id, 'after the revocation');
    const sentinel = await eu.send(bob, channel, 'revocation sentinel');
    await aliceWs.next('MESSAGE_CREATE', (p) => p.d.id === sentinel.id, 0, 30_000);
    expect(aliceWs.named('CHANNEL_DELETE').map((p: { d: { id: string } }) => p.d.id)).toContain(staff.id);
    expect(received(aliceWs, staff.id).map((m) => m.id)).toEqual([granted.id]);
    expect(received(aliceWs, staff.id).map((m) => m.id)).not.toContain(revoked.id);
    // us-east's gateway read nothing from its data centre for it: the event carried the member's roles.
    expect(reads(await gatewayMetrics())).toBe(readsBefore);
  });

  it('never mints one id twice when both regions create messages concurrently', async () => {
    const burst = async (api: Api, who: Account, tag: string) =>
      Promise.all(
        Array.from({ length: 100 }, (_, i) => api.send(who, channel, `${tag} ${i}`).then((m) => m.id)),
      );
    const [fromEu, fromUs] = await Promise.all([burst(eu, bob, 'burst eu'), burst(us, alice, 'burst us')]);
    const all = [...fromEu, ...fromUs];
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(fromEu.map(regionOf))).toEqual(new Set([REGION_IDS[EU]]));
    expect(new Set(fromUs.map(regionOf))).toEqual(new Set([REGION_IDS[US]]));
    // Each region's api minted with the node id it leased in its region's Redis, as it logged at start.
    for (const [region, ids] of [
      [EU, fromEu],
      [US, fromUs],
    ] as const) {
      const leased = Number(/"node_id":(\d+)/.exec(stack.log(region, 'api'))?.[1]);
      expect(new Set(ids.map(nodeOf))).toEqual(new Set([leased]));
    }
  });

  it('keeps jobs in the region that enqueued them, and a full event history in each region', async () => {
    // Deleting a channel enqueues its purge jobs in the region whose api took the request.
    const temp = await eu.ok<{ id: string }>('POST', `/guilds/${guildId}/channels`, bob.token, {
      name: 'short-lived',
      type: 0,
    });
    await eu.send(bob, temp.id, 'soon gone');
    await eu.ok('DELETE', `/channels/${temp.id}`, bob.token);
    const stream = (list: StreamState[], name: string) => list.find((x) => x.name === name);
    const euJobs = `${stack.prefix}_${EU}_jobs`;
    const usJobs = `${stack.prefix}_${US}_jobs`;
    const [euStreams, usStreams] = await eventually(
      'eu-west stored the purge jobs',
      async () => {
        const both = [await regionStreams(stack, EU), await regionStreams(stack, US)] as const;
        return (stream(both[0], euJobs)?.lastSeq ?? 0) >= 2 && both;
      },
      REPLICATION_WAIT_MS,
    );
    expect(stream(euStreams, euJobs)?.subjects).toEqual([`${stack.prefix}.${EU}.jobs.>`]);
    expect(stream(usStreams, usJobs)?.subjects).toEqual([`${stack.prefix}.${US}.jobs.>`]);
    expect(stream(euStreams, usJobs)).toBeUndefined(); // each region's JetStream holds its own jobs only
    expect(stream(usStreams, euJobs)).toBeUndefined();
    expect(stream(usStreams, usJobs)?.lastSeq).toBe(0); // us-east never received eu-west's jobs
    // Both regions keep the short event history of every region's events (for catch-ups that stay local).
    for (const list of [euStreams, usStreams]) {
      const events = stream(list, `${stack.prefix}_events`);
      expect(events?.subjects).toEqual([`${stack.prefix}.ev.>`]);
      expect(events?.messages).toBeGreaterThan(0);
    }
  });

  it('refuses to start a process whose snowflake identity would collide or whose region does not match its NATS', async () => {
    // A us-east process configured with the node id us-east's api leased.
    const leased = /"node_id":(\d+)/.exec(stack.log(US, 'api'))?.[1] ?? '';
    const sameNode = await stack.startExtraApi({
      ...stack.roleProcessEnv(US),
      PARLEY__INSTANCE__CLAIM_NODE_ID: 'false',
      PARLEY__INSTANCE__NODE_ID: leased,
    });
    expect(sameNode.exit).toBe(78);
    expect(sameNode.output).toMatch(
      new RegExp(`instance\\.node_id: ${leased} is in use by parley-api-${leased} \\(region us-east\\)`),
    );

    // A us-east configured from a table of its own in which it has eu-west's id: each file alone validates,
    // together they would mint colliding ids.
    const diverging = join(stack.dir, 'region-us-east-diverging.json');
    const file = JSON.parse(readFileSync(join(__dirname, '../../../config/region-us-east.json'), 'utf8'));
    file.instance.region_id = REGION_IDS[EU];
    file.instance.regions = { [US]: { id: REGION_IDS[EU], dc: 'dc2' } };
    writeFileSync(diverging, JSON.stringify(file));
    const clash = await stack.startExtraApi({ ...stack.roleProcessEnv(US), PARLEY_CONFIG: diverging });
    expect(clash.exit).toBe(78);
    expect(clash.output).toMatch(
      /instance\.region_id: 1 is already region eu-west's \(parley-\w+-\d+ \(region eu-west\) runs\)/,
    );
    expect(clash.output).toMatch(/instance\.region_id: region us-east runs with id 2 elsewhere/);
    expect(clash.output).toMatch(
      /instance\.regions: differs from parley-\w+-\d+ \(region (eu-west|us-east)\)'s/,
    );

    // us-east's configuration pointed at eu-west's NATS.
    const crossed = await stack.startExtraApi({
      ...stack.roleProcessEnv(US),
      PARLEY__NATS__URL: `nats://127.0.0.1:${stack.port(EU, 'nats')}`,
    });
    expect(crossed.exit).toBe(78);
    expect(crossed.output).toMatch(
      /nats\.url: the JetStream at .* has domain "eu-west", but instance\.region is "us-east"/,
    );
  });

  describe('losing a region', () => {
    let aliceWs: GatewayClient;
    let daveWs: GatewayClient;
    let carolName = '';
    let lastBeforeOutage = '';
    const duringOutage: string[] = [];

    beforeAll(async () => {
      // Only a data centre the stack started itself may be stopped (never someone else's cluster).
      expect(stack.ownedNodes()).toContain('dc2-n1');
      aliceWs = track(await GatewayClient.ready(endpoints.regions[US]!.gateway, alice.token));
      daveWs = track(await GatewayClient.ready(endpoints.regions[EU]!.gateway, dave.token));
      // The newest message either region holds (each has all of its own writes).
      const newest = [
        ...(await history(eu, dave.token, channel)),
        ...(await history(us, alice.token, channel)),
      ];
      lastBeforeOutage = newest
        .map((m) => BigInt(m.id))
        .reduce((a, b) => (b > a ? b : a), 0n)
        .toString();
      // us-east goes: its api, gateway, queue, NATS, Redis and its Cassandra data centre (dc2).
      await stack.down(US);
      await aliceWs.disconnected(30_000);
    });

    it('eu-west keeps accepting registrations, logins, sends and history reads', async () => {
      expect((await fetch(`${endpoints.regions[EU]!.api}/health/ready`)).status).toBe(200);
      // A username claim (LWT at SERIAL: dc1's two replicas are a majority of the three) and the rest of a
      // registration, with dc2 gone.
      const carol = await eu.register('carol');
      carolName = carol.user.username;
      expect(regionOf(carol.user.id)).toBe(REGION_IDS[EU]);
      await eu.login(bob);
      for (let i = 0; i < 10; i++) duringOutage.push((await eu.send(bob, channel, `outage ${i}`)).id);
      // Live delivery inside the surviving region goes on.
      await daveWs.next('MESSAGE_CREATE', (p) => p.d.id === duringOutage[9], 0, 30_000);
      expect(
        received(daveWs, channel)
          .map((m) => m.id)
          .filter((id) => duringOutage.includes(id)),
      ).toEqual(duringOutage);
      const page = await history(eu, dave.token, channel);
      expect(page.slice(-10).map((m) => m.id)).toEqual(duringOutage);
    });

    it('when us-east returns, its gateway delivers again and Alice reads everything she missed', async () => {
      endpoints = await stack.up();
      expect(Object.keys(endpoints.regions).sort()).toEqual([EU, US]);
      us = new Api(endpoints.regions[US]!.api);

      // Alice's client tries to resume. The region's Redis (where resume buffers live) started empty, so the
      // contract's other branch applies: INVALID_SESSION {resumable: false}, then a fresh READY, never RESUMED.
      expect(aliceWs.sessionId).toBeTruthy();
      const back = track(
        new GatewayClient(endpoints.regions[US]!.gateway, alice.token, {
          session_id: aliceWs.sessionId!,
          seq: aliceWs.lastSeq,
        }),
      );
      const ready = await back.waitIndex('READY', () => true, 0, 30_000);
      expect(back.events.slice(0, ready + 1).map((e) => e.name)).toEqual(['INVALID_SESSION', 'READY']);
      expect(back.events[0].payload).toEqual({ d: { resumable: false } });
      expect(back.sessionId).not.toBe(aliceWs.sessionId);
      expect(back.named('RESUMED')).toEqual([]);

      // dc2 catches up by hinted handoff: what was sent while it was down arrives in us-east, where Alice
      // reads the history after the last message she could have seen before the outage.
      const missed = await eventually(
        'us-east history holds what was sent during the outage',
        async () => {
          const page = await us.ok<{ id: string }[]>(
            'GET',
            `/channels/${channel}/messages?after=${lastBeforeOutage}&limit=100`,
            alice.token,
          );
          return page.length >= duringOutage.length && page;
        },
        CATCH_UP_WAIT_MS,
      );
      expect([...missed].reverse().map((m) => m.id)).toEqual(duringOutage);

      // The account registered in eu-west during the outage logs in through us-east.
      await eventually(
        'carol can log in through us-east',
        async () =>
          (await us.call('POST', '/auth/login', undefined, { login: carolName, password: 'password123' }))
            .status === 200,
        CATCH_UP_WAIT_MS,
      );

      // Live delivery across the gateway again, in order.
      const after: string[] = [];
      for (let i = 0; i < 5; i++) after.push((await eu.send(bob, channel, `after ${i}`)).id);
      await back.next('MESSAGE_CREATE', (p) => p.d.id === after[4], 0, 30_000);
      expect(
        received(back, channel)
          .map((m) => m.id)
          .filter((id) => after.includes(id)),
      ).toEqual(after);
    });
  });
});
