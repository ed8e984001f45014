import { type Account, Api, GatewayClient, waitFor } from '../integration/microservices/clients';
import {
  type RoleProcess,
  clusterEnv,
  clusterScope,
  requireSharedServices,
  startRole,
} from '../integration/microservices/processes';

jest.setTimeout(180_000);

/** One gateway session as the test sees it: its first connection, and the one that resumed it, if any. */
interface Tracked {
  account: Account;
  first: GatewayClient;
  resumed: GatewayClient | null;
}

const dispatchSeqs = (clients: GatewayClient[]) =>
  clients.flatMap((c) => c.events.filter((e) => typeof e.payload?.s === 'number').map((e) => e.payload.s));
const messageIds = (clients: GatewayClient[], channelId: string) =>
  clients
    .flatMap((c) => c.named('MESSAGE_CREATE').filter((p) => p.d.channel_id === channelId))
    .map((p) => p.d.id);

/**
 * A rolling restart from outside, with real processes: two gateways with sessions on both, messages sent all
 * along, one gateway gets SIGTERM. It tells its sessions to resume elsewhere in batches and hands each one over
 * (missed events included) to the gateway its client reconnects to; every session goes on there with every
 * message exactly once, numbered without a gap, and no session starts over with a full READY.
 */
describe('gateway rolling restart (SIGTERM one of two gateways)', () => {
  const { dir, prefix, track, cleanUp } = clusterScope();
  let env: Record<string, string>;
  let api: RoleProcess;
  let victim: RoleProcess;
  let survivor: RoleProcess;
  let a: Api;
  let owner: Account;
  let guild: { id: string; general: string };
  const sessions: Tracked[] = [];

  beforeAll(async () => {
    await requireSharedServices();
    env = {
      ...clusterEnv(prefix, `${dir.path}/parley.db`),
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      // Small batches, so the drain is staggered even with a handful of sessions; and a window of 2, so the
      // second batch waits until the first two sessions were taken over.
      PARLEY__GATEWAY__DRAIN__BATCH_SIZE: '2',
      PARLEY__GATEWAY__DRAIN__INTERVAL: '100',
      PARLEY__GATEWAY__DRAIN__WINDOW: '2',
    };
    api = await startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '1' });
    [victim, survivor] = await Promise.all([
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '2' }),
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '3' }),
    ]);
    a = new Api(api.url);
    owner = await a.register('roll_owner');
    const members: Account[] = [];
    for (let i = 0; i < 8; i++) members.push(await a.register(`roll_member_${i}`));
    guild = await a.guild(owner, members);
    for (const [i, account] of members.entries()) {
      const url = i % 2 === 0 ? victim.url : survivor.url;
      sessions.push({ account, first: track(await GatewayClient.ready(url, account.token)), resumed: null });
    }
  });

  afterAll(() => cleanUp());

  it('every session resumes on the other gateway: nothing lost or duplicated, no READY', async () => {
    const sent: string[] = [];
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) sent.push((await a.send(owner, guild.general, `m${sent.length}`)).id);
    };
    await send(3);
    for (const s of sessions) await s.first.next('MESSAGE_CREATE', (p) => p.d.id === sent[2]);

    // The victim's clients reconnect to the survivor (what a load balancer does) with their session and seq.
    const onVictim = sessions.filter((_, i) => i % 2 === 0);
    const resumedAll = Promise.all(
      onVictim.map(async (s) => {
        const close = await s.first.next('CLOSE', undefined, 0, 30_000);
        expect(close).toMatchObject({ reason: 'server_shutdown', resumable: true, reconnect: true });
        s.resumed = track(
          new GatewayClient(survivor.url, s.account.token, {
            session_id: s.first.sessionId!,
            seq: s.first.lastSeq,
          }),
        );
        await s.resumed.next('RESUMED', undefined, 0, 30_000);
      }),
    );
    const traffic = send(30); // messages keep coming during the whole drain
    const exit = victim.stop('SIGTERM');
    await Promise.all([traffic, resumedAll]);
    await send(3);
    // The victim exits once every session it held was taken over.
    expect(await exit).toBe(0);

    const last = sent[sent.length - 1];
    for (const s of sessions) {
      const clients = s.resumed ? [s.first, s.resumed] : [s.first];
      await waitFor(
        () => Promise.resolve(messageIds(clients, guild.general).includes(last)),
        `${s.account.user.username} got the last message`,
      );
      // Every message once, in the order sent, numbered 1, 2, 3... across the old and the new connection.
      expect(messageIds(clients, guild.general)).toEqual(sent);
      const seqs = dispatchSeqs(clients);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(clients.flatMap((c) => c.named('READY'))).toHaveLength(1);
      expect(clients.flatMap((c) => c.named('INVALID_SESSION'))).toEqual([]);
    }
    for (const s of onVictim) {
      expect(s.resumed!.named('RESUMED')).toHaveLength(1);
      expect(s.resumed!.named('RESUMED')[0].d.session_id).toBe(s.first.sessionId);
    }
    // The survivor numbers on: a message now reaches a resumed session live.
    const after = (await a.send(owner, guild.general, 'after the restart')).id;
    for (const s of onVictim) await s.resumed!.next('MESSAGE_CREATE', (p) => p.d.id === after);
  });
});
