import { Client, startServer, tempDir, type ServerProcess } from './harness';

// Message search over HTTP against the compiled monolith (on SQLite here; search.cassandra.test.ts runs this
// file on Cassandra): the route under /api/v1, a revoked channel dropping out of the next search, edits and
// deletes, and the per-user rate limit with Discord's headers.
jest.setTimeout(120_000);

let server: ServerProcess;
let dir: { path: string; remove: () => void };

type Hits = { total_results: number; messages: { id: string; channel_id: string; content: string }[][] };

async function account(name: string): Promise<Client & { id: string }> {
  const client = new Client(server.url) as Client & { id: string };
  const res = await client.post<{ token: string; user: { id: string } }>('/auth/register', {
    username: `${name}${process.pid}`,
    email: `${name}${process.pid}@example.test`,
    password: 'correct horse battery',
  });
  client.token = res.body.token;
  client.id = res.body.user.id;
  return client;
}

beforeAll(async () => {
  dir = tempDir('parley-e2e-search-');
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'true',
    PARLEY__RATE_LIMITS__GLOBAL__LIMIT: '1000',
  });
});

afterAll(async () => {
  await server?.stop();
  dir?.remove();
});

describe('message search over HTTP', () => {
  test('finds what a member may read, follows revocations, edits and deletes at once', async () => {
    const owner = await account('so');
    const member = await account('sm');
    const guild = await owner.post<{ id: string; channels: { id: string; type: number }[] }>('/guilds', {
      name: 'Searchers',
    });
    const general = guild.body.channels.find((c) => c.type === 0)?.id ?? '';
    const secret = (await owner.post<{ id: string }>(`/guilds/${guild.body.id}/channels`, { name: 'secret' }))
      .body.id;
    const invite = await owner.post<{ code: string }>(`/channels/${general}/invites`, {});
    expect((await member.post(`/invites/${invite.body.code}`)).status).toBe(200);
    const open = (
      await owner.post<{ id: string }>(`/channels/${general}/messages`, { content: 'meteor shower tonight' })
    ).body.id;
    const hidden = (
      await owner.post<{ id: string }>(`/channels/${secret}/messages`, { content: 'meteor plans' })
    ).body.id;

    const search = (who: Client, q: string) => who.get<Hits>(`/guilds/${guild.body.id}/messages/search?${q}`);
    const ids = (hits: Hits) => hits.messages.map(([m]) => m.id);
    expect(ids((await search(member, 'content=meteor')).body)).toEqual([hidden, open]);

    // @everyone loses VIEW_CHANNEL on #secret: the very next search leaves it out.
    await owner.put(`/channels/${secret}/permissions/${guild.body.id}`, {
      type: 0,
      allow: '0',
      deny: String(1 << 10),
    });
    const after = await search(member, 'content=meteor');
    expect(after.status).toBe(200);
    expect(ids(after.body)).toEqual([open]);
    expect(after.body.total_results).toBe(1);
    expect(ids((await search(owner, 'content=meteor')).body)).toEqual([hidden, open]);

    await owner.patch(`/channels/${general}/messages/${open}`, { content: 'comet tonight' });
    expect(ids((await search(member, 'content=comet')).body)).toEqual([open]);
    expect((await search(member, 'content=meteor')).body.total_results).toBe(0);
    await owner.delete(`/channels/${general}/messages/${open}`);
    expect((await search(member, 'content=comet')).body.total_results).toBe(0);
  });

  test('is rate limited per user in the messages.search bucket', async () => {
    const owner = await account('sr');
    const guild = await owner.post<{ id: string }>('/guilds', { name: 'Limits' });
    const statuses: number[] = [];
    let last: Awaited<ReturnType<Client['get']>> | null = null;
    for (let i = 0; i < 11; i++) {
      last = await owner.get(`/guilds/${guild.body.id}/messages/search?content=x${i}`);
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(statuses[10]).toBe(429);
    expect(last?.headers.get('x-ratelimit-bucket')).toBe('messages.search');
    expect(last?.body).toMatchObject({ retry_after: expect.any(Number) });
    // Another user has a bucket of their own.
    const other = await account('sr2');
    expect((await other.get(`/guilds/${guild.body.id}/messages/search?content=x`)).status).toBe(404);
  });
});
