import { RedisPresenceStore } from '@parley/state';
import { Redis } from 'ioredis';
import { waitFor } from '../../support/wait';
import { OwnService, uniquePrefix } from './processes';

jest.setTimeout(60_000);

/**
 * Presence shared by gateway nodes, on a redis-server of its own (this file restarts it): a crashed node's
 * sessions are swept by another node, which learns whose users went offline; and a node's sessions count again
 * as soon as a restarted Redis is back.
 */
describe('RedisPresenceStore: sweeping a crashed node, surviving a Redis restart', () => {
  let redis: OwnService;
  const clients: Redis[] = [];
  const stores: RedisPresenceStore[] = [];
  const prefix = `${uniquePrefix()}:`;

  const store = (ttlMs: number) => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    clients.push(client);
    const s = new RedisPresenceStore(client, prefix, ttlMs);
    stores.push(s);
    return s;
  };

  beforeAll(async () => {
    redis = await OwnService.start('redis');
  });

  afterAll(async () => {
    for (const s of stores) s.close();
    for (const c of clients) c.disconnect();
    await redis?.remove();
  });

  it('another node sweeps the sessions a crashed node stopped renewing, once, and reports who went offline', async () => {
    const crashed = store(300);
    const survivor = store(300);
    const other = store(300);
    await crashed.connect('u1', 's1');
    await crashed.connect('u2', 's2');
    await survivor.connect('u2', 's3'); // u2 stays online through their other session
    crashed.close(); // it renews nothing from now on, as if its process died

    const swept: string[] = [];
    await waitFor(async () => {
      const changes = [...(await survivor.sweep()), ...(await other.sweep())];
      swept.push(...changes.map((c) => `${c.userId}:${c.before}->${c.after}`));
      return swept.length > 0;
    }, "the crashed node's sessions expired and were swept");
    // Both sweepers ran; each session was claimed by one of them only, and only u1 went offline.
    expect(swept).toEqual(['u1:online->offline']);
    expect(await survivor.visible(['u1', 'u2'])).toEqual(
      new Map([
        ['u1', 'offline'],
        ['u2', 'online'],
      ]),
    );
    expect([...(await survivor.sweep()), ...(await other.sweep())]).toEqual([]);
  });

  it('puts its sessions back at once when a restarted Redis is back', async () => {
    const node = store(60_000);
    await node.connect('u3', 's9');
    expect((await node.visible(['u3'])).get('u3')).toBe('online');
    await redis.kill();
    await redis.up(); // empty: no persistence
    await waitFor(
      async () => (await node.visible(['u3']).catch(() => null))?.get('u3') === 'online',
      'u3 is online again after the restart',
    );
  });
});
