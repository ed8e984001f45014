import { randomBytes } from 'node:crypto';
import { RedisResumeStore, type ResumeEntry } from '@parley/state';
import { Redis } from 'ioredis';

/**
 * RedisResumeStore against the local Redis (127.0.0.1:6379, see docs/operations.md): appends are batched per
 * event-loop turn (one EVALSHA per session, never the script text again), coalesce while pipelines are unanswered,
 * stay bounded, and replay exactly what was numbered.
 */
describe('RedisResumeStore write path', () => {
  const prefix = `test_rs_${randomBytes(4).toString('hex')}:`;
  let redis: Redis;
  const owner = { userId: 'u1', tokenHash: 'tok' };
  const entry = (s: number): ResumeEntry => ({ s, t: 'MESSAGE_CREATE', d: `{"n":${s}}`, e: `ev${s}` });
  const turn = () => new Promise((r) => setImmediate(r));
  const commandCalls = async (name: string): Promise<number> => {
    const info = await redis.info('commandstats');
    const m = new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info);
    return m ? Number(m[1]) : 0;
  };

  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, enableOfflineQueue: false });
    try {
      await redis.connect();
    } catch {
      throw new Error('needs Redis on 127.0.0.1:6379 (redis-server --port 6379 --save "" --appendonly no)');
    }
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('sends one script call per session per turn and replays every entry in order', async () => {
    const store = new RedisResumeStore(redis, prefix, 'node-a');
    const sessions = ['a1', 'a2', 'a3'];
    for (const id of sessions) store.open(id, owner, 100);
    await store.flush();
    const evals = (await commandCalls('eval')) + (await commandCalls('evalsha'));
    // 3 sessions x 50 events in one turn: 3 commands.
    for (let s = 1; s <= 50; s++) for (const id of sessions) store.append(id, entry(s));
    await store.flush();
    expect(store.stats.commands).toBe(3);
    expect((await commandCalls('eval')) + (await commandCalls('evalsha')) - evals).toBeLessThanOrEqual(3);
    for (const id of sessions) {
      const result = await store.replay(id, 'tok', 10);
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.entries.map((e) => e.s)).toEqual(range(11, 50));
    }
  });

  it('uses EVALSHA after the first call on a connection', async () => {
    const store = new RedisResumeStore(redis, prefix, 'node-a');
    store.open('b1', owner, 10);
    store.append('b1', entry(1));
    await store.flush();
    const before = await commandCalls('evalsha');
    for (let s = 2; s <= 5; s++) {
      store.append('b1', entry(s));
      await turn();
      await turn();
    }
    await store.flush();
    expect((await commandCalls('evalsha')) - before).toBeGreaterThanOrEqual(1);
    const result = await store.replay('b1', 'tok', 0);
    expect(result.ok && result.entries.map((e) => e.s)).toEqual([1, 2, 3, 4, 5]);
  });

  it('coalesces a burst into few commands with bounded waiting entries, and still replays without a gap', async () => {
    const store = new RedisResumeStore(redis, prefix, 'node-a');
    const sessions = Array.from({ length: 200 }, (_, i) => `c${i}`);
    for (const id of sessions) store.open(id, owner, 50);
    await store.flush();
    const commands = store.stats.commands;
    let maxWaiting = 0;
    // 400 events to 200 sessions, a few per turn (80,000 appends).
    for (let s = 1; s <= 400; s++) {
      for (const id of sessions) store.append(id, entry(s));
      maxWaiting = Math.max(maxWaiting, store.waiting);
      if (s % 4 === 0) await turn();
    }
    await store.flush();
    expect(store.stats.commands - commands).toBeLessThan(200 * 100); // far fewer than one per append
    expect(maxWaiting).toBeLessThanOrEqual(200 * 100); // at most twice the capacity per session
    for (const id of ['c0', 'c199']) {
      const ok = await store.replay(id, 'tok', 360);
      expect(ok.ok && ok.entries.map((e) => e.s)).toEqual(range(361, 400));
      // Older than the capacity: trimmed.
      expect(await store.replay(id, 'tok', 300)).toEqual({ ok: false, reason: 'overflow' });
    }
  });

  it('a session with waiting entries is written before it is detached, read or dropped', async () => {
    const store = new RedisResumeStore(redis, prefix, 'node-a');
    store.open('d1', owner, 10);
    store.append('d1', entry(1));
    store.append('d1', entry(2));
    store.detach('d1', 60_000);
    store.append('d1', entry(3));
    const result = await store.replay('d1', 'tok', 0); // same turn: nothing flushed by the timer yet
    expect(result.ok && result.entries.map((e) => e.s)).toEqual([1, 2, 3]);
    expect(await redis.pttl(`${prefix}rs:{d1}:e`)).toBeLessThanOrEqual(60_000);
    store.append('d1', entry(4));
    store.drop('d1');
    await store.flush();
    expect(await store.replay('d1', 'tok', 0)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('a write while Redis is unreachable is a gap: the replay is refused, nothing is queued', async () => {
    const other = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, enableOfflineQueue: false });
    await other.connect();
    const store = new RedisResumeStore(other, prefix, 'node-b');
    store.open('e1', owner, 10);
    store.append('e1', entry(1));
    await store.flush();
    const ended = new Promise((resolve) => other.once('end', resolve));
    other.disconnect(); // as if the connection dropped
    await ended;
    store.append('e1', entry(2));
    await turn();
    expect(store.waiting).toBe(0);
    await other.connect();
    store.append('e1', entry(3));
    await store.flush();
    expect(await store.replay('e1', 'tok', 1)).toEqual({ ok: false, reason: 'overflow' });
    // Another node reading the shared buffer sees the gap too.
    const fresh = new RedisResumeStore(redis, prefix, 'node-c');
    expect(await fresh.replay('e1', 'tok', 1)).toEqual({ ok: false, reason: 'overflow' });
    other.disconnect();
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
