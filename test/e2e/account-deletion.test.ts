import Database from 'better-sqlite3';
import { GatewayClient } from '../support/clients';
import { Api, type Account } from '../support/rest';
import {
  backendEnvironment,
  backendName,
  parleyCli,
  type ServerProcess,
  startServer,
  tempDir,
  waitFor,
} from './harness';

const PASSWORD = 'password123';

/**
 * Issue 23's `DELETE /users/@me` against the compiled monolith: the password proves it, owned guilds block it,
 * the gateway closes, and afterwards the database holds nothing personal of the account: its row keeps only
 * the id under "Deleted User"; sessions, memberships, settings and identities are gone. With
 * `instance.account_deletion: delete` its messages go too.
 */
// On Cassandra (account-deletion.cassandra.test.ts, which switches the backend before this file loads) the
// `delete` mode runs: what it removes is found through the driver's author index; the database is read through
// `parley verify`, the SQLite file directly as well.
const onCassandra = backendName() === 'cassandra';
const modes = onCassandra ? (['delete'] as const) : (['anonymize', 'delete'] as const);

describe.each(modes)('account deletion (%s)', (mode) => {
  const dir = tempDir('parley-deletion-');
  const dbPath = `${dir.path}/parley.db`;
  let server: ServerProcess;
  let api: Api;

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: dbPath,
      PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
      PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__INSTANCE__ACCOUNT_DELETION: mode,
      PARLEY__JOBS__POLL_INTERVAL: '50',
    });
    api = new Api(server.url);
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  /** `parley verify --deleted-accounts` on the server's database. */
  const verifyDeleted = (env: Record<string, string> = {}) =>
    parleyCli(
      onCassandra
        ? ['verify', '--deleted-accounts']
        : ['verify', '--deleted-accounts', '--from', `sqlite:${dbPath}`],
      { ...backendEnvironment(), ...env },
    );

  const rows = (sql: string, ...params: unknown[]): Record<string, unknown>[] => {
    const db = new Database(dbPath, { readonly: true });
    try {
      return db.prepare(sql).all(...params) as Record<string, unknown>[];
    } finally {
      db.close();
    }
  };

  async function setUp(): Promise<{
    alice: Account;
    bob: Account;
    general: string;
    dm: string;
    former: string;
    said: string[];
  }> {
    const alice = await api.register('alice');
    const bob = await api.register('bob');
    const guild = await api.guild(bob, [alice]);
    const said = [
      (await api.send(alice, guild.general, 'hello from alice')).id,
      (await api.send(alice, guild.general, 'second words')).id,
    ];
    await api.send(bob, guild.general, 'hello from bob');
    await api.ok(
      'PUT',
      `/channels/${guild.general}/messages/${said[0]}/reactions/%F0%9F%91%8D/@me`,
      alice.token,
    );
    await api.ok('PATCH', `/users/@me/guilds/${guild.id}/settings`, alice.token, { muted: true });
    const dm = await api.ok<{ id: string }>('POST', '/users/@me/channels', alice.token, {
      recipient_id: bob.user.id,
    });
    said.push((await api.send(alice, dm.id, 'a private word')).id);
    // A guild Alice has left: what she wrote there is hers too.
    const former = await api.guild(bob, [alice]);
    said.push((await api.send(alice, former.general, 'before I go')).id);
    await api.ok('DELETE', `/users/@me/guilds/${former.id}`, alice.token);
    return { alice, bob, general: guild.general, dm: dm.id, former: former.general, said };
  }

  it('needs the password, and refuses while the user owns a guild', async () => {
    const carol = await api.register('carol');
    const wrong = await api.call('DELETE', '/users/@me', carol.token, { password: 'not it' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors.password[0].code).toBe('PASSWORD_DOES_NOT_MATCH');
    expect((await api.call('DELETE', '/users/@me', carol.token, {})).status).toBe(400);

    const owned = await api.guild(carol);
    const refused = await api.call('DELETE', '/users/@me', carol.token, { password: PASSWORD });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe(40011);
    await api.ok('DELETE', `/guilds/${owned.id}`, carol.token);
    expect((await api.call('DELETE', '/users/@me', carol.token, { password: PASSWORD })).status).toBe(204);
  });

  it('closes the sessions and leaves nothing personal behind', async () => {
    const { alice, bob, general, dm, former, said } = await setUp();
    const gateway = await GatewayClient.ready(server.gatewayUrl, alice.token);
    const watcher = await GatewayClient.ready(server.gatewayUrl, bob.token);

    expect((await api.call('DELETE', '/users/@me', alice.token, { password: PASSWORD })).status).toBe(204);
    await gateway.disconnected();
    expect((await api.call('GET', '/users/@me', alice.token)).status).toBe(401);
    const login = await api.call('POST', '/auth/login', null, {
      login: alice.user.username,
      password: PASSWORD,
    });
    expect(login.status).toBe(401);
    await watcher.next(
      'GUILD_MEMBER_REMOVE',
      (p: { d: { user: { id: string } } }) => p.d.user.id === alice.user.id,
    );
    watcher.close();

    if (!onCassandra) {
      // The row keeps the id only; the username and address are free again.
      const [user] = rows('SELECT * FROM users WHERE id = ?', BigInt(alice.user.id));
      expect(user).toMatchObject({ display_name: 'Deleted User', avatar: null, mfa_secret: null });
      expect(String(user.username)).toMatch(/^deleted_user_[0-9a-z]+$/);
      expect(user.email).toBe(`${alice.user.id}@deleted.invalid`);
      const personal = JSON.stringify(user);
      expect(personal).not.toContain(alice.user.username);
      for (const [table, column] of [
        ['tokens', 'user_id'],
        ['members', 'user_id'],
        ['user_guild_settings', 'user_id'],
        ['user_identities', 'user_id'],
      ]) {
        expect(rows(`SELECT count(*) AS n FROM ${table} WHERE ${column} = ?`, BigInt(alice.user.id))).toEqual(
          [{ n: 0 }],
        );
      }
    }
    expect((await api.register(alice.user.username.slice(0, 20))).user.id).not.toBe(alice.user.id);

    // The operator's check finds nothing personal left of the deleted accounts (carol's and alice's).
    const check = await verifyDeleted();
    expect(check.stdout).toContain('2 deleted account(s), 0 leftover(s) of personal data');
    expect(check.code).toBe(0);
    // Nor a uniqueness claim without its holder (their names, emails and DM pairs were given back).
    const claims = await parleyCli(
      onCassandra ? ['verify', '--claims'] : ['verify', '--claims', '--from', `sqlite:${dbPath}`],
      backendEnvironment(),
    );
    expect(claims.stdout).toMatch(
      /claims read: \d+ username, \d+ email, \d+ dm_pair, \d+ invite; 0 mismatch\(es\)/,
    );
    expect(claims.code).toBe(0);
    if (mode === 'anonymize') {
      // And it does find what is left: a session row put back behind the server's back.
      const db = new Database(dbPath);
      try {
        db.prepare(
          'INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, NULL)',
        ).run('leftover-token-hash', BigInt(alice.user.id), Date.now());
      } finally {
        db.close();
      }
      const found = await parleyCli(['verify', '--deleted-accounts', '--from', `sqlite:${dbPath}`]);
      expect(found.stdout).toContain(`deleted account ${alice.user.id} still has a session token (tokens)`);
      expect(found.code).toBe(2);
    }

    const history = await api.ok<
      { id: string; author: { id: string; username: string; display_name: string } }[]
    >('GET', `/channels/${general}/messages`, bob.token);
    const dmHistory = await api.ok<{ id: string }[]>('GET', `/channels/${dm}/messages`, bob.token);
    if (mode === 'anonymize') {
      const kept = history.filter((m) => said.includes(m.id));
      expect(kept).toHaveLength(2);
      for (const m of kept)
        expect(m.author).toMatchObject({ id: alice.user.id, display_name: 'Deleted User' });
      expect(dmHistory.map((m) => m.id)).toEqual([said[2]]);
      const formerHistory = await api.ok<{ id: string }[]>('GET', `/channels/${former}/messages`, bob.token);
      expect(formerHistory.map((m) => m.id)).toContain(said[3]);
    } else {
      await waitFor(
        async () =>
          (await api.ok<{ id: string }[]>('GET', `/channels/${general}/messages`, bob.token)).every(
            (m) => !said.includes(m.id),
          ) &&
          (await api.ok<{ id: string }[]>('GET', `/channels/${dm}/messages`, bob.token)).length === 0 &&
          (await api.ok<{ id: string }[]>('GET', `/channels/${former}/messages`, bob.token)).every(
            (m) => !said.includes(m.id),
          ),
        'the deleted account messages are gone, in the guild it had left too',
      );
      if (!onCassandra)
        expect(rows('SELECT count(*) AS n FROM messages WHERE author_id = ?', BigInt(alice.user.id))).toEqual(
          [{ n: 0 }],
        );
      const left = await api.ok<{ content: string }[]>('GET', `/channels/${general}/messages`, bob.token);
      expect(left.map((m) => m.content)).toContain('hello from bob');
      // In this mode the operator's check also looks for their messages: none.
      const messagesCheck = await verifyDeleted({ PARLEY__INSTANCE__ACCOUNT_DELETION: 'delete' });
      expect(messagesCheck.stdout).toContain('2 deleted account(s), 0 leftover(s) of personal data');
      expect(messagesCheck.code).toBe(0);
    }
  });
});
