import AdmZip from 'adm-zip';
import Database from 'better-sqlite3';
import { Api, type Account } from '../support/rest';
import { type ServerProcess, startServer, tempDir, waitFor } from './harness';

/**
 * Issue 23's personal data export against the compiled monolith: `POST /users/@me/data-export` queues the job,
 * `GET` reports it and then offers a signed link; the zip's NDJSON files hold exactly the user's rows, checked
 * against the database.
 */
describe('personal data export', () => {
  const dir = tempDir('parley-export-');
  const dbPath = `${dir.path}/parley.db`;
  let server: ServerProcess;
  let api: Api;

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: dbPath,
      PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
      PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__JOBS__POLL_INTERVAL: '50',
    });
    api = new Api(server.url);
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  const column = (sql: string, ...params: unknown[]): string[] => {
    const db = new Database(dbPath, { readonly: true });
    try {
      return (
        db
          .prepare(sql)
          .safeIntegers(true)
          .raw()
          .all(...params) as unknown[][]
      )
        .map((row) => String(row[0]))
        .sort();
    } finally {
      db.close();
    }
  };

  const lines = (zip: AdmZip, name: string): Record<string, any>[] => {
    const entry = zip.getEntry(name);
    if (!entry) throw new Error(`${name} missing from the archive`);
    return entry
      .getData()
      .toString('utf8')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, any>);
  };

  it('writes exactly the user rows into a zip behind a signed link', async () => {
    const alice: Account = await api.register('alice');
    const bob = await api.register('bob');
    const guild = await api.guild(bob, [alice]);
    const other = await api.guild(bob);
    const mine = [];
    for (let i = 0; i < 130; i++) mine.push((await api.send(alice, guild.general, `message ${i}`)).id);
    await api.send(bob, guild.general, 'not alice');
    await api.send(bob, other.general, 'elsewhere');
    await api.ok(
      'PUT',
      `/channels/${guild.general}/messages/${mine[0]}/reactions/%F0%9F%91%8D/@me`,
      alice.token,
    );
    await api.ok('PATCH', `/users/@me/guilds/${guild.id}/settings`, alice.token, { muted: true });
    const dm = await api.ok<{ id: string }>('POST', '/users/@me/channels', alice.token, {
      recipient_id: bob.user.id,
    });
    await api.send(alice, dm.id, 'a private word');
    await api.send(bob, dm.id, 'bob answers');

    expect((await api.call('GET', '/users/@me/data-export', alice.token)).status).toBe(404);
    const queued = await api.call('POST', '/users/@me/data-export', alice.token);
    expect(queued.status).toBe(202);
    expect(queued.body).toMatchObject({ status: 'pending', url: null });
    // Asking again while it is being made answers the same export.
    expect((await api.call('POST', '/users/@me/data-export', alice.token)).body.id).toBe(queued.body.id);

    const ready = await waitFor(async () => {
      const res = await api.call('GET', '/users/@me/data-export', alice.token);
      return res.body.status === 'ready' ? res.body : null;
    }, 'the export is ready');
    expect(ready.url).toMatch(/^\/api\/v1\/data-exports\/\d+\/\d+\.zip\?ex=[0-9a-f]+&hm=[0-9a-f]+$/);

    const download = await fetch(`${server.url}${ready.url}`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/zip');
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(bytes.length).toBe(ready.size);
    const zip = new AdmZip(bytes);
    expect(
      zip
        .getEntries()
        .map((e) => e.entryName)
        .sort(),
    ).toEqual([
      'dms.ndjson',
      'guild_settings.ndjson',
      'memberships.ndjson',
      'messages.ndjson',
      'profile.ndjson',
      'reactions.ndjson',
      'uploads.ndjson',
    ]);

    const me = BigInt(alice.user.id);
    const [profile] = lines(zip, 'profile.ndjson');
    expect(profile).toMatchObject({
      id: alice.user.id,
      username: alice.user.username,
      email: `${alice.user.username}@example.test`,
    });
    expect(
      lines(zip, 'messages.ndjson')
        .map((m) => m.id)
        .sort(),
    ).toEqual(column('SELECT id FROM messages WHERE author_id = ?', me));
    expect(lines(zip, 'messages.ndjson')).toHaveLength(131);
    expect(
      lines(zip, 'memberships.ndjson')
        .map((m) => m.guild_id)
        .sort(),
    ).toEqual(column('SELECT guild_id FROM members WHERE user_id = ?', me));
    expect(lines(zip, 'guild_settings.ndjson').map((s) => s.guild_id)).toEqual(
      column('SELECT guild_id FROM user_guild_settings WHERE user_id = ?', me),
    );
    expect(lines(zip, 'dms.ndjson').map((c) => c.id)).toEqual([dm.id]);
    expect(lines(zip, 'reactions.ndjson')).toEqual([
      { channel_id: guild.general, message_id: mine[0], emoji: '👍' },
    ]);
    expect(lines(zip, 'uploads.ndjson')).toEqual([]);

    // The link is the credential: a changed signature, another export id or another user is not served.
    const tampered = ready.url.replace(
      /hm=([0-9a-f])/,
      (_: string, c: string) => `hm=${c === '0' ? '1' : '0'}`,
    );
    expect((await fetch(`${server.url}${tampered}`)).status).toBe(404);
    expect((await fetch(`${server.url}${ready.url.replace(alice.user.id, bob.user.id)}`)).status).toBe(404);
    expect((await fetch(`${server.url}${ready.url.split('?')[0]}`)).status).toBe(404);
  });
});
