import {
  type DomainEvent,
  JetStreamJobQueue,
  NatsEventBus,
  NatsLink,
  NatsRpc,
  RpcUnavailableError,
} from '@parley/bus';
import type { ParleyConfig } from '@parley/config';
import { AppLogger, Metrics } from '@parley/observability';
import { RedisPresenceStore, RedisRateLimiter, RedisSessionDirectory } from '@parley/state';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { microservicesConfig, purgePrefix, requireSharedServices, uniquePrefix } from './processes';
import { TcpProxy } from '../../support/tcp-proxy';
import { pause, waitFor } from '../../support/wait';

/** The NATS, JetStream and Redis implementations on their own, against the machine's NATS and Redis. */
describe('microservices transports', () => {
  const prefix = uniquePrefix();
  const log = new AppLogger('silent');
  const links: NatsLink[] = [];
  const redisClients: Redis[] = [];
  let config: ParleyConfig;

  const link = async (metrics = new Metrics()) => {
    const l = await NatsLink.open(config, log, metrics, 'transports-test');
    links.push(l);
    return l;
  };
  const redis = async () => {
    const client = new Redis(config.redis.url, { lazyConnect: true });
    await client.connect();
    redisClients.push(client);
    return client;
  };

  beforeAll(async () => {
    await requireSharedServices();
    config = microservicesConfig(prefix, {
      nats: { request_timeout: 300, breaker: { failure_threshold: 2, reset_after: 60_000 } },
    });
  });

  afterAll(async () => {
    for (const l of links) await l.close();
    for (const c of redisClients) c.disconnect();
    await purgePrefix(prefix);
  });

  describe('NatsEventBus', () => {
    it('delivers a scope only to nodes subscribed to it, in publish order, and drops interest with the last handler', async () => {
      const [a, b] = [new NatsEventBus(await link(), log), new NatsEventBus(await link(), log)];
      const got: DomainEvent[] = [];
      const other: DomainEvent[] = [];
      const stop = b.subscribe('channel:1', (e) => got.push(e));
      b.subscribe('guild:9', (e) => other.push(e));
      expect(b.activeScopes).toBe(2);
      await links[1].nc.flush();
      for (let i = 0; i < 20; i++)
        a.publish({
          type: 'MESSAGE_CREATE',
          scope: { kind: 'channel', id: '1', guildId: '9' },
          data: { n: i },
        });
      a.publish({
        type: 'MESSAGE_CREATE',
        scope: { kind: 'channel', id: '2', guildId: '9' },
        data: { n: -1 },
      });
      await a.settle();
      await waitFor(() => Promise.resolve(got.length === 20), 'the channel events arrived');
      expect(got.map((e) => (e.data as { n: number }).n)).toEqual([...Array(20).keys()]);
      expect(new Set(got.map((e) => e.id)).size).toBe(20); // every event carries its own id
      expect(other).toEqual([]);
      stop();
      expect(b.activeScopes).toBe(1);
    });
  });

  it('NatsEventBus catches a newly gained scope up on what was published before its subscription took effect, once each', async () => {
    const a = new NatsEventBus(await link(), log);
    const b = new NatsEventBus(await link(), log);
    await a.init();
    const since = Date.now() - 2_000;
    const event = (n: number): DomainEvent => ({
      type: 'MESSAGE_CREATE',
      scope: { kind: 'channel', id: '77', guildId: null },
      data: { n },
    });
    a.publish(event(1));
    a.publish(event(2));
    await a.settle();
    const caughtUp: DomainEvent[] = [];
    const plain: DomainEvent[] = [];
    b.subscribe('channel:77', (e) => caughtUp.push(e), { since });
    const c = new NatsEventBus(await link(), log);
    c.subscribe('channel:77', (e) => plain.push(e));
    await c.ready();
    a.publish(event(3));
    await a.settle();
    await waitFor(() => Promise.resolve(caughtUp.length >= 3 && plain.length >= 1), 'both got event 3');
    await pause(200); // a quiet window: a duplicate or a replayed event would arrive in it
    expect(caughtUp.map((e) => (e.data as { n: number }).n)).toEqual([1, 2, 3]);
    expect(plain.map((e) => (e.data as { n: number }).n)).toEqual([3]);
  });

  it('NatsEventBus sends again after a reconnect what the server never confirmed, and receivers get it once', async () => {
    const proxy = new TcpProxy();
    const port = await proxy.listen();
    proxy.forwardTo(config.nats.url.replace(/^nats:/, 'http:'));
    try {
      const viaProxy = await NatsLink.open(
        { ...config, nats: { ...config.nats, url: `nats://127.0.0.1:${port}` } },
        log,
        new Metrics(),
        'transports-test-resend',
      );
      links.push(viaProxy);
      const a = new NatsEventBus(viaProxy, log);
      const b = new NatsEventBus(await link(), log);
      const got: number[] = [];
      b.subscribe('channel:88', (e) => got.push((e.data as { n: number }).n));
      await b.ready();
      const event = (n: number): DomainEvent => ({
        type: 'MESSAGE_CREATE',
        scope: { kind: 'channel', id: '88', guildId: null },
        data: { n },
      });
      a.publish(event(1));
      await a.settle();
      await waitFor(() => Promise.resolve(got.length === 1), 'event 1 arrived');
      // Event 2 is written to a connection whose server never reads it, then the connection dies.
      proxy.holdClientData();
      a.publish(event(2));
      proxy.dropAll();
      await waitFor(() => Promise.resolve(got.length >= 2), 'event 2 arrived after the reconnect');
      a.publish(event(3));
      await a.settle();
      await waitFor(() => Promise.resolve(got.length >= 3), 'event 3 arrived');
      await pause(200); // a quiet window: a second copy of event 1 or 2 would arrive in it
      expect(got).toEqual([1, 2, 3]);
    } finally {
      await proxy.close();
    }
  });

  it('NatsEventBus sizes and replicates the event history from nats.events', async () => {
    const bus = new NatsEventBus(await link(), log);
    await bus.init({ replicas: 1, max_bytes: 8 * 1024 * 1024, storage: 'file' });
    const info = await (await jetstreamManager(links[links.length - 1].nc)).streams.info(bus.stream);
    expect(info.config).toMatchObject({ max_bytes: 8 * 1024 * 1024, num_replicas: 1, storage: 'file' });
    // A restart with other settings updates the stream in place.
    await bus.init({ replicas: 1, max_bytes: 16 * 1024 * 1024, storage: 'file' });
    const updated = await (await jetstreamManager(links[links.length - 1].nc)).streams.info(bus.stream);
    expect(updated.config.max_bytes).toBe(16 * 1024 * 1024);
  });

  describe('NatsRpc', () => {
    it('spreads requests over a queue group, each answered once', async () => {
      const [server1, server2, client] = await Promise.all([link(), link(), link()]);
      const seen = { one: 0, two: 0 };
      const schema = z.object({ n: z.number() });
      const opts = { timeoutMs: 1000, breaker: { failureThreshold: 5, resetAfterMs: 1000 } };
      new NatsRpc(server1, opts, log, new Metrics()).serve(
        'echo',
        schema,
        (r) => (seen.one++, Promise.resolve(r.n)),
        {
          queue: 'echo',
        },
      );
      new NatsRpc(server2, opts, log, new Metrics()).serve(
        'echo',
        schema,
        (r) => (seen.two++, Promise.resolve(r.n)),
        {
          queue: 'echo',
        },
      );
      await Promise.all([server1.nc.flush(), server2.nc.flush()]);
      const rpc = new NatsRpc(client, opts, log, new Metrics());
      const answers = await Promise.all([...Array(40).keys()].map((n) => rpc.call<number>('echo', { n })));
      expect(answers).toEqual([...Array(40).keys()]);
      expect(seen.one + seen.two).toBe(40);
      expect(seen.one).toBeGreaterThan(0);
      expect(seen.two).toBeGreaterThan(0);
      await expect(rpc.call('echo', { n: 'not a number' })).rejects.toMatchObject({ code: 'bad_request' });
    });

    it('fails fast: no responders, timeouts, then an open circuit', async () => {
      const [server, client] = await Promise.all([link(), link()]);
      const rpc = new NatsRpc(
        client,
        { timeoutMs: 200, breaker: { failureThreshold: 2, resetAfterMs: 60_000 } },
        log,
        new Metrics(),
      );
      await expect(rpc.call('nobody.home', {})).rejects.toMatchObject({ reason: 'no_responders' });
      new NatsRpc(
        server,
        { timeoutMs: 200, breaker: { failureThreshold: 2, resetAfterMs: 1 } },
        log,
        new Metrics(),
      ).serve('slow', z.object({}), () => new Promise((r) => setTimeout(r, 600)));
      await server.nc.flush();
      await expect(rpc.call('slow', {})).rejects.toMatchObject({ reason: 'timeout' });
      await expect(rpc.call('slow', {})).rejects.toMatchObject({ reason: 'timeout' });
      const open = rpc.call('slow', {});
      await expect(open).rejects.toBeInstanceOf(RpcUnavailableError);
      await expect(open).rejects.toMatchObject({ reason: 'circuit_open', status: 503 });
      expect(rpc.breakerState('slow')).toBe('open');
    });
  });

  describe('JetStreamJobQueue', () => {
    it('acks what succeeds, retries a failure, and sets aside (and counts) what keeps failing or cannot run', async () => {
      const metrics = new Metrics();
      const nats = await link(metrics);
      const producer = new JetStreamJobQueue(nats, config, log, metrics, { consume: false });
      await producer.init();
      const worker = new JetStreamJobQueue(nats, config, log, metrics, { consume: true });
      await worker.init();
      const purged: string[] = [];
      let flaky = 0;
      worker.register('channel.purge_messages', ({ channel_id }) => {
        if (channel_id === 'poison') return Promise.reject(new Error('always fails'));
        if (channel_id === 'flaky' && ++flaky === 1) return Promise.reject(new Error('fails once'));
        purged.push(channel_id);
        return Promise.resolve();
      });
      await producer.enqueue('channel.purge_messages', { channel_id: 'ok' });
      await producer.enqueue('channel.purge_messages', { channel_id: 'flaky' });
      await producer.enqueue('channel.purge_messages', { channel_id: 'poison' });
      // A job this version has no handler for: set aside at once, never retried forever.
      await nats.nc.request(`${prefix}.jobs.unknown_job`, '{}').catch(() => undefined);
      worker.start();
      await waitFor(() => Promise.resolve(purged.length === 2), 'the good jobs ran');
      expect(purged.sort()).toEqual(['flaky', 'ok']);
      await waitFor(async () => (await worker.depth()).dead === 2, 'poison jobs were set aside');
      await waitFor(async () => {
        const d = await worker.depth();
        return d.pending === 0 && d.inFlight === 0;
      }, 'the work queue is empty');
      await worker.stop();
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/parley_jobs_completed_total\{name="channel.purge_messages",outcome="dead"\} 1/);
      expect(text).toMatch(/parley_jobs_completed_total\{name="unknown_job",outcome="dead"\} 1/);
      expect(text).toMatch(/parley_jobs_completed_total\{name="channel.purge_messages",outcome="retry"\} 2/);
    });
    it('sets aside a malformed payload with the reason and a log line, never running it; the worker keeps going', async () => {
      const metrics = new Metrics();
      const nats = await link(metrics);
      const workerLog = new AppLogger('silent');
      const logged = jest.spyOn(workerLog, 'error');
      const worker = new JetStreamJobQueue(nats, config, workerLog, metrics, { consume: true });
      await worker.init();
      const ran: unknown[] = [];
      worker.register('guild.purge_messages', (payload) => {
        ran.push(payload);
        return Promise.resolve();
      });
      const subject = `${prefix}.jobs.guild.purge_messages`;
      const malformed = [
        'null',
        '{}',
        '{"guild_id":"1","channel_ids":"2"}',
        '{"guild_id":7,"channel_ids":[]}',
      ];
      const deadBefore = (await worker.depth()).dead;
      const js = jetstream(nats.nc);
      for (const body of malformed) await js.publish(subject, body);
      await js.publish(subject, JSON.stringify({ guild_id: '10', channel_ids: ['11'] }));
      worker.start();
      await waitFor(() => Promise.resolve(ran.length === 1), 'the well-formed job ran');
      expect(ran).toEqual([{ guild_id: '10', channel_ids: ['11'] }]);
      await waitFor(
        async () => (await worker.depth()).dead === deadBefore + malformed.length,
        'malformed jobs were set aside',
      );
      await worker.stop();

      const dead = await jetstreamManager(nats.nc).then((jsm) =>
        jsm.streams.getMessage(worker.deadStream, {
          last_by_subj: `${prefix}.jobs_dead.guild.purge_messages`,
        }),
      );
      expect(dead?.header.get('Parley-Error')).toMatch(/^invalid payload: /);
      const reasons = logged.mock.calls.map(([line]) => (line as { reason?: string }).reason ?? '');
      expect(reasons.filter((r) => r.startsWith('invalid payload'))).toHaveLength(malformed.length);
      const text = await metrics.registry.metrics();
      expect(text).toMatch(
        new RegExp(
          `parley_jobs_completed_total\\{name="guild.purge_messages",outcome="dead"\\} ${malformed.length}`,
        ),
      );
      expect(text).toMatch(/parley_jobs_completed_total\{name="guild.purge_messages",outcome="ok"\} 1/);
    });
  });

  it('JetStreamJobQueue fails an attempt past jobs.deadline: nak with backoff, then a dead letter with why', async () => {
    const stuckPrefix = `${prefix}d`;
    const cfg = {
      ...config,
      nats: { ...config.nats, subject_prefix: stuckPrefix },
      jobs: { ...config.jobs, max_attempts: 2, deadline: 200 },
    };
    const metrics = new Metrics();
    const nats = await NatsLink.open(cfg, log, metrics, 'transports-test-deadline');
    links.push(nats);
    const worker = new JetStreamJobQueue(nats, cfg, log, metrics, { consume: true });
    try {
      await worker.init();
      let calls = 0;
      // Never settles (a storage call that hangs): it keeps the job alive, so only the deadline ends it.
      worker.register('channel.purge_messages', () => (calls++, new Promise<void>(() => undefined)));
      await worker.enqueue('channel.purge_messages', { channel_id: 'stuck' });
      worker.start();
      // The dead letter is stored before the outcome is counted: wait for both.
      const deadCounted = /parley_jobs_completed_total\{name="channel.purge_messages",outcome="dead"\} 1/;
      await waitFor(
        async () => (await worker.depth()).dead === 1 && deadCounted.test(await metrics.registry.metrics()),
        'the stuck job was set aside and counted',
      );
      expect(calls).toBe(2);
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/parley_jobs_completed_total\{name="channel.purge_messages",outcome="retry"\} 1/);
      expect(text).toMatch(/parley_jobs_completed_total\{name="channel.purge_messages",outcome="dead"\} 1/);
      const dead = await (await jetstreamManager(nats.nc)).streams.getMessage(worker.deadStream, { seq: 1 });
      expect(dead?.header.get('Parley-Error')).toContain('deadline of 200 ms');
      expect(await worker.depth()).toMatchObject({ pending: 0, inFlight: 0 });
    } finally {
      await worker.stop();
      await purgePrefix(stuckPrefix);
    }
  });

  describe('Redis state', () => {
    it('holds one rate limit across limiter instances', async () => {
      const [one, two] = [
        new RedisRateLimiter(await redis(), `${prefix}:`),
        new RedisRateLimiter(await redis(), `${prefix}:`),
      ];
      const rule = { limit: 3, window_ms: 60_000 };
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await (i % 2 ? two : one).consume('bucket', rule));
      expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
      expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
      expect(decisions[3].resetAfterMs).toBeGreaterThan(0);
    });

    it('holds one login lockout across api instances, doubling with each failure past the threshold', async () => {
      const [one, two] = [
        new RedisRateLimiter(await redis(), `${prefix}:`),
        new RedisRateLimiter(await redis(), `${prefix}:`),
      ];
      const policy = { max_failures: 3, base_ms: 60_000, max_ms: 240_000, reset_ms: 60_000 };
      const locks = [];
      for (let i = 0; i < 5; i++) locks.push(await (i % 2 ? two : one).recordFailure('login:u1', policy));
      expect(locks).toEqual([0, 0, 60_000, 120_000, 240_000]);
      expect(await two.lockedFor('login:u1')).toBeGreaterThan(120_000);
      expect(await one.lockedFor('login:u2')).toBe(0);
      // A success forgets the failures but not a lock in force.
      await one.clearFailures('login:u1');
      expect(await two.lockedFor('login:u1')).toBeGreaterThan(0);
      expect(await two.recordFailure('login:u1', policy)).toBe(0);
    });

    it('shares presence between nodes: online while any node has a session, status kept, invisible hidden', async () => {
      const a = new RedisPresenceStore(await redis(), `${prefix}:`);
      const b = new RedisPresenceStore(await redis(), `${prefix}:`);
      expect(await a.connect('u1', 's1')).toMatchObject({ before: 'offline', after: 'online' });
      expect(await b.setStatus('u1', 'dnd')).toMatchObject({ before: 'online', after: 'dnd' });
      expect(await b.connect('u1', 's2')).toMatchObject({ before: 'dnd', after: 'dnd' });
      expect(await a.disconnect('u1', 's1')).toMatchObject({ after: 'dnd' });
      expect(await b.setStatus('u1', 'invisible')).toMatchObject({ after: 'offline', status: 'invisible' });
      expect(await a.visible(['u1', 'nobody'])).toEqual(
        new Map([
          ['u1', 'offline'],
          ['nobody', 'offline'],
        ]),
      );
      // Who has a live session (what notifications ask): invisible counts, like any session.
      expect(await a.connected(['u1', 'nobody'])).toEqual(new Set(['u1']));
      expect(await b.disconnect('u1', 's2')).toMatchObject({ status: 'offline', after: 'offline' });
      expect(await a.connected(['u1'])).toEqual(new Set());
      a.close();
      b.close();
    });

    it('keeps a session directory: who holds a session and where it stopped, written only when that changes', async () => {
      const nodeA = new RedisSessionDirectory(await redis(), `${prefix}:`, 'node-a');
      const nodeB = new RedisSessionDirectory(await redis(), `${prefix}:`, 'node-b');
      const owner = { userId: 'u', tokenHash: 'h' };
      await nodeA.claim('s', owner);
      expect(await nodeB.locate('s')).toEqual({
        node: 'node-a',
        userId: 'u',
        tokenHash: 'h',
        lastSeq: 0,
        detached: false,
      });
      await nodeA.detach('s', 42, 60_000);
      expect(await nodeB.locate('s')).toMatchObject({ node: 'node-a', lastSeq: 42, detached: true });
      // Node B takes it over; node A, which gave it up, no longer removes the entry when it forgets the session.
      await nodeB.claim('s', owner);
      nodeA.forget('s');
      await nodeA.drop('s');
      expect(await nodeA.locate('s')).toMatchObject({ node: 'node-b', detached: false });
      await nodeB.drop('s');
      expect(await nodeA.locate('s')).toBeNull();
      nodeA.close();
      nodeB.close();
    });
  });
});
