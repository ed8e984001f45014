import { type Account, Api, GatewayClient, waitFor } from '../integration/microservices/clients';
import {
  OwnService,
  type RoleProcess,
  clusterEnv,
  clusterScope,
  startRole,
  withServerLogs,
} from '../integration/microservices/processes';

jest.setTimeout(180_000);

const dispatchSeqs = (c: GatewayClient) =>
  c.events.filter((e) => typeof e.payload?.s === 'number').map((e) => e.payload.s as number);
const messageIds = (c: GatewayClient, channelId: string) =>
  c
    .named('MESSAGE_CREATE')
    .filter((p) => p.d.channel_id === channelId)
    .map((p) => p.d.id as string);

/**
 * NATS restarted under traffic, with real processes (its own nats-server and redis-server on other loopback
 * ports, never the machine's shared ones): the gateways keep their sessions, and once NATS is back they catch
 * up from the event history on what was published while they were cut off. Every message the API accepted
 * reaches every session once, in order; no session is reset.
 */
describe('gateway sessions across a NATS restart', () => {
  const { dir, prefix, track, cleanUp } = clusterScope();
  let redis: OwnService;
  let nats: OwnService;
  let api: RoleProcess;
  const gateways: RoleProcess[] = [];
  let a: Api;
  let owner: Account;
  let guild: { id: string; general: string };
  const clients: GatewayClient[] = [];

  const ready = async (p: RoleProcess) => (await fetch(`${p.url}/health/ready`)).status === 200;

  beforeAll(async () => {
    redis = await OwnService.start('redis');
    nats = await OwnService.start('nats');
    const env = {
      ...clusterEnv(prefix, `${dir.path}/parley.db`, { redis: redis.url, nats: nats.url }),
      PARLEY__RATE_LIMITS__ENABLED: 'false',
    };
    api = await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' });
    gateways.push(
      ...(await Promise.all([
        // Info logs: the test checks that each gateway caught up (and did not fall back to restarting sessions).
        startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '2', PARLEY__LOGGING__LEVEL: 'info' }),
        startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '3', PARLEY__LOGGING__LEVEL: 'info' }),
      ])),
    );
    a = new Api(api.url);
    owner = await a.register('blip_owner');
    const members: Account[] = [];
    for (let i = 0; i < 6; i++) members.push(await a.register(`blip_member_${i}`));
    guild = await a.guild(owner, members);
    for (const [i, m] of members.entries())
      clients.push(track(await GatewayClient.ready(gateways[i % 2].url, m.token)));
  });

  afterAll(async () => {
    await cleanUp({ purge: false }); // its own Redis and NATS: nothing of it in the shared ones
    await redis?.remove();
    await nats?.remove();
  });

  it('sessions go on without a reset and receive every accepted message once', () =>
    withServerLogs([api, ...gateways], async () => {
      const accepted: string[] = [];
      let refused = 0;
      let stop = false;
      let afterRestart = -1;
      // Messages all along: what the API accepts (200) must arrive; what it refuses (503 while cut off) need not.
      const traffic = (async () => {
        for (let n = 0; !stop; n++) {
          const res = await a.call('POST', `/channels/${guild.general}/messages`, owner.token, {
            content: `blip ${n}`,
          });
          if (res.status === 200) accepted.push((res.body as { id: string }).id);
          else if (res.status === 503) refused++;
          else throw new Error(`unexpected ${res.status}: ${JSON.stringify(res.body)}`);
          await new Promise((r) => setTimeout(r, 20)); // pacing, not synchronisation
        }
      })();
      await waitFor(
        () => Promise.resolve(accepted.length >= 5),
        'some messages were sent before the restart',
      );

      await nats.kill('SIGTERM');
      await nats.up();
      await waitFor(
        async () => (await ready(api)) && (await ready(gateways[0])) && (await ready(gateways[1])),
        'every process is ready again',
      );
      afterRestart = accepted.length;
      await waitFor(
        () => Promise.resolve(accepted.length >= afterRestart + 5),
        'messages were sent after the restart',
      );
      stop = true;
      await traffic;

      const last = accepted[accepted.length - 1];
      for (const [i, c] of clients.entries()) {
        await waitFor(
          () => Promise.resolve(messageIds(c, guild.general).includes(last)),
          `session ${i} got the last message`,
        );
        expect(messageIds(c, guild.general)).toEqual(accepted);
        const seqs = dispatchSeqs(c);
        expect(seqs).toEqual(seqs.map((_, k) => k + 1));
        expect(c.named('READY')).toHaveLength(1);
        expect(c.named('CLOSE')).toEqual([]);
        expect(c.named('INVALID_SESSION')).toEqual([]);
        expect(c.socket.connected).toBe(true);
      }
      // Each gateway caught up from the history (not the fallback that restarts sessions).
      for (const g of gateways) {
        expect(g.output()).toContain('caught up on the event history after a reconnect');
        expect(g.output()).not.toContain('could not catch up');
      }
      const caughtUp = gateways.map(
        (g) => /"events":(\d+)[^\n]*caught up on the event history/.exec(g.output())?.[1],
      );
      process.stdout.write(`caught up per gateway: ${caughtUp.join(', ')}\n`);
      process.stdout.write(
        `nats restart: ${accepted.length} messages accepted, ${refused} refused while cut off\n`,
      );
    }));
});
