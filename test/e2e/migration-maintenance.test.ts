import { join } from 'node:path';
import { Client, type ServerProcess, parleyCli, startServer, tempDir, waitUntilPasses } from './harness';

/**
 * Maintenance (read-only) mode across processes, switched without a restart: two monoliths on one SQLite
 * file follow `npx parley maintenance on|off` (a flag in the database they read every second); writes
 * answer 503 in the contract's error shape, reads go on.
 */

const dir = tempDir('parley-maintenance-');
const env = {
  PARLEY__DATABASE__SQLITE__PATH: join(dir.path, 'parley.db'),
  PARLEY__RATE_LIMITS__ENABLED: 'false',
};

/** `npx parley <args>` against the servers' database (without blocking this process: the load keeps running). */
const parley = (args: string[]) => parleyCli(args, env);

describe('maintenance mode', () => {
  const servers: ServerProcess[] = [];
  let a: Client;
  let b: Client;
  let channelId = '';

  beforeAll(async () => {
    servers.push(await startServer(env), await startServer(env));
    a = new Client(servers[0].url);
    await a.register('alice');
    b = new Client(servers[1].url);
    b.token = a.token;
    const guild = await a.post('/guilds', { name: 'Quiet please' });
    channelId = guild.body.channels[0].id as string;
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    dir.remove();
  });

  it('is off by default: both processes take writes', async () => {
    expect((await a.post(`/channels/${channelId}/messages`, { content: 'one' })).status).toBe(200);
    expect((await b.post(`/channels/${channelId}/messages`, { content: 'two' })).status).toBe(200);
    expect((await parley(['maintenance', 'status'])).stdout).toContain('maintenance mode is OFF');
  });

  it('on: every process answers writes with 503 while reads go on, without a restart', async () => {
    const on = await parley(['maintenance', 'on', '--message', 'moving to Cassandra']);
    expect(on.code).toBe(0);
    expect(on.stdout).toContain('maintenance mode is ON');
    // Typing is a write that stores nothing: a harmless probe for when each process has switched.
    for (const client of [a, b])
      await waitUntilPasses(async () => {
        expect((await client.post(`/channels/${channelId}/typing`)).status).toBe(503);
      });
    for (const client of [a, b]) {
      const refused = await client.post(`/channels/${channelId}/messages`, { content: 'refused' });
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual({
        code: 50504,
        message: expect.stringMatching(/read-only maintenance mode/) as string,
        error_id: expect.any(String) as string,
      });
    }
    for (const client of [a, b]) {
      const history = await client.get(`/channels/${channelId}/messages`);
      expect(history.status).toBe(200);
      expect(history.body.map((m: { content: string }) => m.content)).toEqual(['two', 'one']);
      expect((await client.get('/users/@me')).status).toBe(200);
      expect((await client.patch('/users/@me', { display_name: 'A' })).status).toBe(503);
      expect((await client.delete(`/channels/${channelId}`)).status).toBe(503);
      expect(
        (await client.post('/auth/login', { login: 'alice', password: 'correct horse battery' })).status,
      ).toBe(503);
    }
    expect((await fetch(`${servers[0].url}/health/ready`)).status).toBe(200);
    const status = await parley(['maintenance', 'status']);
    expect(status.stdout).toContain('maintenance mode is ON');
    expect(status.stdout).toContain('moving to Cassandra');
  });

  it('off: writes are accepted again everywhere', async () => {
    expect((await parley(['maintenance', 'off'])).code).toBe(0);
    for (const client of [a, b])
      await waitUntilPasses(async () => {
        expect((await client.post(`/channels/${channelId}/messages`, { content: 'back' })).status).toBe(200);
      });
  });

  it('instance.read_only in the configuration holds a process read-only whatever the flag says', async () => {
    const fixed = await startServer({ ...env, PARLEY__INSTANCE__READ_ONLY: 'true' });
    servers.push(fixed);
    const c = new Client(fixed.url);
    c.token = a.token;
    expect((await c.get(`/channels/${channelId}/messages`)).status).toBe(200);
    expect((await c.post(`/channels/${channelId}/messages`, { content: 'no' })).status).toBe(503);
    expect((await parley(['maintenance', 'status'])).stdout).toContain('maintenance mode is OFF');
  });

  it('the procedure: bulk copy while writes go on, then maintenance on and the final delta verifies', async () => {
    const copy = `sqlite:${join(dir.path, 'copy.db')}`;
    let writing = true;
    let sent = 0;
    const load = (async () => {
      while (writing) {
        const res = await a.post(`/channels/${channelId}/messages`, { content: `live ${sent}` });
        if (res.status === 200) {
          sent++;
          if (sent % 5 === 0)
            await a.put(`/channels/${channelId}/messages/${res.body.id}/reactions/%F0%9F%91%8D/@me`);
        }
      }
    })();
    const bulk = await parley([
      'migrate',
      '--from',
      `sqlite:${env.PARLEY__DATABASE__SQLITE__PATH}`,
      '--to',
      copy,
    ]);
    expect(bulk.stderr).toContain('the source is not in maintenance mode');
    expect([0, 2]).toContain(bulk.code); // 2: rows written during the run still differ, as expected while live
    expect((await parley(['maintenance', 'on'])).code).toBe(0);
    await waitUntilPasses(async () => {
      expect((await a.post(`/channels/${channelId}/typing`)).status).toBe(503);
    });
    writing = false;
    await load;
    expect(sent).toBeGreaterThan(0);
    const final = await parley([
      'migrate',
      '--from',
      `sqlite:${env.PARLEY__DATABASE__SQLITE__PATH}`,
      '--to',
      copy,
    ]);
    expect(final.code).toBe(0);
    expect(final.stderr).toContain('messages: already copied');
    expect(final.stdout).toContain('verified: the target equals the source');
    const verify = await parley([
      'verify',
      '--from',
      `sqlite:${env.PARLEY__DATABASE__SQLITE__PATH}`,
      '--to',
      copy,
    ]);
    expect(verify.code).toBe(0);
    expect((await parley(['maintenance', 'off'])).code).toBe(0);
  });
});
