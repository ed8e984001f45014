import { Client, runFailingServer, startServer, tempDir } from './harness';

describe('monolith lifecycle', () => {
  it('keeps everything across a restart, and SIGTERM exits 0', async () => {
    const dir = tempDir();
    const env = {
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/data/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
    };
    try {
      let server = await startServer(env);
      const alice = new Client(server.url);
      const user = await alice.register('alice');
      const token = alice.token;
      const guild = await alice.post('/guilds', { name: 'Persistent' });
      const channelId = guild.body.channels[0].id as string;
      const ids: string[] = [];
      for (let i = 0; i < 20; i++)
        ids.push((await alice.post(`/channels/${channelId}/messages`, { content: `m${i}` })).body.id);
      await alice.put(`/channels/${channelId}/messages/${ids[3]}/reactions/${encodeURIComponent('🎉')}/@me`);
      expect(await server.stop('SIGTERM')).toBe(0);

      server = await startServer(env);
      const again = new Client(server.url);
      again.token = token; // tokens survive restarts
      expect((await again.get('/users/@me')).body.id).toBe(user.id);
      const history = await again.get(`/channels/${channelId}/messages?limit=100`);
      expect(history.body.map((m: { id: string }) => m.id)).toEqual([...ids].reverse());
      expect(history.body.find((m: { id: string }) => m.id === ids[3]).reactions).toEqual([
        { emoji: { name: '🎉' }, count: 1, me: true },
      ]);
      const login = await new Client(server.url).post('/auth/login', {
        login: 'alice',
        password: 'correct horse battery',
      });
      expect(login.status).toBe(200);
      expect(await server.stop('SIGTERM')).toBe(0);
    } finally {
      dir.remove();
    }
  });

  it('answers floods with 429 in the contract shape, with rate-limit headers', async () => {
    const dir = tempDir();
    const server = await startServer({ PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db` });
    try {
      const client = new Client(server.url);
      await client.register('flooder');
      const guild = await client.post('/guilds', { name: 'Flood' });
      const channelId = guild.body.channels[0].id as string;
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<Client['post']>> | null = null;
      for (let i = 0; i < 30 && !limited; i++) {
        const res = await client.post(`/channels/${channelId}/messages`, { content: `spam ${i}` });
        statuses.push(res.status);
        if (res.status === 429) limited = res;
      }
      expect(statuses[0]).toBe(200);
      expect(limited).not.toBeNull();
      expect(limited!.body).toMatchObject({
        code: expect.any(Number),
        message: expect.any(String),
        retry_after: expect.any(Number),
      });
      expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited!.headers.get('x-ratelimit-limit')).toBe('10');
      expect(limited!.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(Number(limited!.headers.get('x-ratelimit-reset-after'))).toBeGreaterThan(0);
      // Refused messages were not stored.
      const history = await client.get(`/channels/${channelId}/messages?limit=100`);
      expect(history.body).toHaveLength(statuses.filter((s) => s === 200).length);
    } finally {
      await server.stop();
      dir.remove();
    }
  });

  it('refuses to start on bad configuration, naming the key', async () => {
    const unknownKey = await runFailingServer({ PARLEY__DATABASE__SQLITE__PATHS: 'x' });
    expect(unknownKey.code).not.toBe(0);
    expect(unknownKey.stderr).toContain('database.sqlite.paths: unknown key');
    const badType = await runFailingServer({ PARLEY__SERVER__PORT: '"eighty"' });
    expect(badType.code).not.toBe(0);
    expect(badType.stderr).toContain('server.port');
    const badMode = await runFailingServer({ PARLEY__INSTANCE__DEPLOYMENT_MODE: 'cluster' });
    expect(badMode.stderr).toContain('instance.deployment_mode');
  });

  it('refuses microservices mode without a shared media.signing_secret: exit 78, naming the key', async () => {
    const noSecret = await runFailingServer({ PARLEY__INSTANCE__DEPLOYMENT_MODE: 'microservices' });
    expect(noSecret.code).toBe(78);
    expect(noSecret.stderr).toContain('media.signing_secret');
    expect(noSecret.stderr).not.toMatch(/\n\s+at /); // a config error, not a stack trace
  });
});
