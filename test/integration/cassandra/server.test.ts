import { type App, dropKeyspace, requireCassandra, startApp, testKeyspace } from './support';

// `npm start` with database.backend=cassandra on the single node (`npm run cassandra:up`): the schema
// is applied at start, readiness reports the database, and the REST API works end to end.
jest.setTimeout(180_000);

const keyspace = testKeyspace('parley_start');

describe('npm start with database.backend=cassandra', () => {
  let app: App | undefined;

  beforeAll(async () => {
    await requireCassandra();
    app = await startApp(
      { PARLEY__DATABASE__BACKEND: 'cassandra', PARLEY__DATABASE__CASSANDRA__KEYSPACE: keyspace },
      { viaNpm: true, timeoutMs: 150_000 },
    );
  });

  afterAll(async () => {
    await app?.stop();
    await dropKeyspace(keyspace);
  });

  it('applies the schema, reports ready and serves the chat API', async () => {
    const server = app as App;
    const ready = await server.request('GET', '/health/ready');
    expect(ready).toMatchObject({
      status: 200,
      body: { status: 'ok', checks: { 'database:cassandra': 'ok' } },
    });

    const alice = await server.request('POST', '/api/v1/auth/register', {
      username: 'Alice',
      email: 'alice@example.test',
      password: 'correct horse battery',
    });
    expect(alice.status).toBe(201);
    const token = alice.body.token as string;
    const taken = await server.request('POST', '/api/v1/auth/register', {
      username: 'alice',
      email: 'other@example.test',
      password: 'correct horse battery',
    });
    expect(taken.status).toBe(409);

    const guild = await server.request('POST', '/api/v1/guilds', { name: 'On Cassandra' }, token);
    expect(guild.status).toBe(201);
    const channelId = guild.body.channels[0].id as string;
    const sent: string[] = [];
    for (const content of ['one', 'two', 'three']) {
      const res = await server.request('POST', `/api/v1/channels/${channelId}/messages`, { content }, token);
      expect(res.status).toBe(200);
      sent.push(res.body.id as string);
    }
    const history = await server.request(
      'GET',
      `/api/v1/channels/${channelId}/messages?limit=2`,
      undefined,
      token,
    );
    expect(history.status).toBe(200);
    expect(history.body.map((m: { content: string }) => m.content)).toEqual(['three', 'two']);
    const login = await server.request('POST', '/api/v1/auth/login', {
      login: 'ALICE',
      password: 'correct horse battery',
    });
    expect(login.status).toBe(200);
  });

  it('stops on SIGTERM: every process of `npm start` exits', async () => {
    const server = app as App;
    app = undefined;
    await server.stop(); // rejects if anything of the process group is still alive 30 s later
    await expect(fetch(`${server.url}/health/live`)).rejects.toThrow();
  });
});
