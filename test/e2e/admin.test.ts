import type { ParsedMail } from 'mailparser';
import { GatewayClient } from '../support/clients';
import { startSmtpSink, type SmtpSink } from '../support/smtp';
import { Client, request } from '../support/rest';
import { type ServerProcess, startServer, tempDir, waitFor } from './harness';

const PASSWORD = 'correct horse battery';

const login = (server: ServerProcess, name: string) =>
  request(`${server.url}/api/v1/auth/login`, 'POST', { body: { login: name, password: PASSWORD } });

function recipient(mail: ParsedMail): string {
  const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
  return to?.value[0]?.address ?? '';
}

/**
 * Issue 23's instance administrators against the compiled server (SQLite monolith): the first account of a new
 * instance administers it; the admin routes refuse everyone else; disabling an account ends its tokens and its
 * gateway sessions; guild and account deletion; the counters; every action in the instance audit log.
 */
describe('instance admin', () => {
  const dir = tempDir('parley-admin-');
  let server: ServerProcess;
  let admin: Client;
  let alice: Client;
  let aliceUser: { id: string; username: string };

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
      PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
      PARLEY__RATE_LIMITS__ENABLED: 'false',
    });
    admin = new Client(server.url);
    await admin.register('adm_root');
    alice = new Client(server.url);
    aliceUser = await alice.register('adm_alice');
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  it('refuses every admin route to an account that is not an instance admin (403 50001)', async () => {
    const id = aliceUser.id;
    const routes: [string, string, unknown?][] = [
      ['GET', '/admin/users'],
      ['PATCH', `/admin/users/${id}`, { disabled: true }],
      ['DELETE', `/admin/users/${id}`],
      ['GET', '/admin/guilds'],
      ['DELETE', `/admin/guilds/${id}`],
      ['GET', '/admin/stats'],
      ['GET', '/admin/audit-log'],
      ['GET', '/admin/registrations'],
      ['GET', '/admin/reports'],
      ['POST', `/admin/registrations/${id}/approve`],
      ['POST', `/admin/registrations/${id}/reject`],
    ];
    for (const [method, path, body] of routes) {
      const res = await alice.request(method, path, body);
      expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status: 403, code: 50001 });
    }
    expect((await request(`${server.url}/api/v1/admin/stats`, 'GET')).status).toBe(401);
    // Nothing was done on the way.
    expect((await alice.get('/users/@me')).status).toBe(200);
  });

  it('counts users, guilds and messages (total and today) without scanning', async () => {
    const before = (await admin.get('/admin/stats')).body;
    expect(before).toEqual({
      users: expect.any(Number),
      guilds: expect.any(Number),
      messages: expect.any(Number),
      messages_today: expect.any(Number),
    });
    expect(before.users).toBeGreaterThanOrEqual(2);
    const guild = await alice.post('/guilds', { name: 'Counted' });
    const channelId = guild.body.channels[0].id as string;
    for (const content of ['one', 'two', 'three'])
      expect((await alice.post(`/channels/${channelId}/messages`, { content })).status).toBe(200);
    const after = (await admin.get('/admin/stats')).body;
    expect(after).toEqual({
      users: before.users,
      guilds: before.guilds + 1,
      messages: before.messages + 3,
      messages_today: before.messages_today + 3,
    });
  });

  it('searches accounts by username or email prefix, in pages', async () => {
    for (const n of [1, 2, 3]) await new Client(server.url).register(`adm_page${n}`);
    const found = await admin.get('/admin/users?query=ADM_PAGE&limit=2');
    expect(found.status).toBe(200);
    expect(found.body.items).toHaveLength(2);
    expect(found.body.cursor).toEqual(expect.any(String));
    const rest = await admin.get(`/admin/users?query=adm_page&limit=2&before=${found.body.cursor}`);
    const names = [...found.body.items, ...rest.body.items].map((u: { username: string }) => u.username);
    expect(names.sort()).toEqual(['adm_page1', 'adm_page2', 'adm_page3']);
    const byEmail = await admin.get('/admin/users?query=adm_alice@');
    expect(byEmail.body.items).toEqual([
      expect.objectContaining({
        id: aliceUser.id,
        email: 'adm_alice@example.test',
        admin: false,
        disabled: false,
      }),
    ]);
    const me = await admin.get('/admin/users?query=adm_root');
    expect(me.body.items[0]).toMatchObject({ username: 'adm_root', admin: true });
    expect((await admin.get('/admin/users?limit=500')).status).toBe(400);
    expect((await admin.get('/admin/users?before=nope')).status).toBe(400);
  });

  it('disabling an account ends its tokens and gateway sessions; it cannot log in until enabled again', async () => {
    const other = (await login(server, 'adm_alice')).body.token as string;
    const gateway = await GatewayClient.ready(server.gatewayUrl, alice.token!);
    try {
      const res = await admin.request(
        'PATCH',
        `/admin/users/${aliceUser.id}`,
        { disabled: true },
        {
          headers: { 'x-audit-log-reason': encodeURIComponent('spam wave') },
        },
      );
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id: aliceUser.id, disabled: true });
      expect(await gateway.disconnected()).toEqual(expect.any(String));
      expect((await alice.get('/users/@me')).status).toBe(401);
      expect((await request(`${server.url}/api/v1/users/@me`, 'GET', { token: other })).status).toBe(401);
      const refused = await login(server, 'adm_alice');
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 50035, errors: { login: [{ code: 'ACCOUNT_DISABLED' }] } });
      // The wrong password still says only that.
      const wrong = await request(`${server.url}/api/v1/auth/login`, 'POST', {
        body: { login: 'adm_alice', password: 'not the password' },
      });
      expect(wrong.status).toBe(401);

      expect((await admin.patch(`/admin/users/${aliceUser.id}`, { disabled: false })).status).toBe(200);
      const back = await login(server, 'adm_alice');
      expect(back.status).toBe(200);
      alice.token = back.body.token as string;
      expect((await alice.get('/users/@me')).status).toBe(200);
    } finally {
      gateway.close();
    }
  });

  it('refuses bad input with Discord-shaped errors and changes nothing', async () => {
    expect((await admin.patch(`/admin/users/${aliceUser.id}`, { disabled: 'yes' })).status).toBe(400);
    expect((await admin.patch(`/admin/users/${aliceUser.id}`, { admin: true })).status).toBe(400);
    const unknownUser = await admin.patch('/admin/users/123456789012345678', { disabled: true });
    expect(unknownUser).toMatchObject({ status: 404, body: { code: 10013 } });
    expect((await admin.delete('/admin/guilds/123456789012345678')).body.code).toBe(10004);
    const self = (await admin.get('/admin/users?query=adm_root')).body.items[0].id as string;
    expect((await admin.patch(`/admin/users/${self}`, { disabled: true })).status).toBe(400);
    expect((await alice.get('/users/@me')).status).toBe(200);
  });

  it('deletes a guild (its members get GUILD_DELETE) and an account (refused while it owns guilds)', async () => {
    const bob = new Client(server.url);
    const bobUser = await bob.register('adm_bob');
    const guild = await bob.post('/guilds', { name: 'Doomed' });
    const guildId = guild.body.id as string;
    const gateway = await GatewayClient.ready(server.gatewayUrl, bob.token!);
    try {
      const listed = await admin.get('/admin/guilds?query=doomed');
      expect(listed.body.items).toEqual([
        expect.objectContaining({ id: guildId, name: 'Doomed', owner_id: bobUser.id }),
      ]);
      const owner = await admin.delete(`/admin/users/${bobUser.id}`);
      expect(owner.status).toBe(400);
      expect(owner.body.code).toBe(40011);

      expect((await admin.delete(`/admin/guilds/${guildId}`)).status).toBe(204);
      await gateway.next('GUILD_DELETE', (p) => p.d.id === guildId);
      expect((await bob.get(`/guilds/${guildId}`)).status).toBe(404);

      expect((await admin.delete(`/admin/users/${bobUser.id}`)).status).toBe(204);
      expect(await gateway.disconnected()).toEqual(expect.any(String));
      expect((await bob.get('/users/@me')).status).toBe(401);
      expect((await login(server, 'adm_bob')).status).toBe(401);
      expect((await admin.get('/admin/users?query=adm_bob')).body.items).toEqual([]);
      // The username is free again.
      expect((await new Client(server.url).register('adm_bob')).username).toBe('adm_bob');
    } finally {
      gateway.close();
    }
  });

  it('shows the instance admins every report, of a guild as well as of a user or a message, newest first', async () => {
    const guild = await alice.post('/guilds', { name: 'Reported' });
    expect(guild.status).toBe(201);
    const g = guild.body as { id: string; system_channel_id?: string };
    const channels = await alice.get(`/guilds/${g.id}/channels`);
    const channel = (channels.body as { id: string; type: number }[]).find((c) => c.type === 0)!;
    const message = await alice.post(`/channels/${channel.id}/messages`, { content: 'spam spam spam' });
    const made = [
      await alice.post('/reports', { reason: 'the whole guild is spam', guild_id: g.id }),
      await alice.post('/reports', {
        reason: 'this message',
        channel_id: channel.id,
        message_id: message.body.id,
      }),
    ];
    for (const r of made) expect(r.status).toBe(200);
    const seen = await admin.get('/admin/reports?limit=2');
    expect(seen.status).toBe(200);
    expect(seen.body).toEqual([
      expect.objectContaining({
        reason: 'this message',
        message_id: message.body.id,
        reporter_id: aliceUser.id,
      }),
      expect.objectContaining({ reason: 'the whole guild is spam', guild_id: g.id, message_id: null }),
    ]);
    const older = await admin.get(`/admin/reports?before=${seen.body[1].id}`);
    expect((older.body as { id: string }[]).map((r) => r.id)).not.toContain(seen.body[0].id);
  });

  it('records every admin action in the instance audit log, newest first, in pages', async () => {
    const page = await admin.get('/admin/audit-log?limit=3');
    expect(page.status).toBe(200);
    expect(page.body.map((e: { action: string }) => e.action)).toEqual([
      'user.delete',
      'guild.delete',
      'user.enable',
    ]);
    const adminId = (await admin.get('/users/@me')).body.id as string;
    expect(page.body[2]).toMatchObject({ actor_id: adminId, target_type: 'user', target_id: aliceUser.id });
    const older = await admin.get(`/admin/audit-log?before=${page.body[2].id}`);
    expect(older.body).toEqual([
      expect.objectContaining({
        action: 'user.disable',
        actor_id: adminId,
        target_id: aliceUser.id,
        reason: 'spam wave',
        created_at: expect.any(String),
      }),
    ]);
  });
});

/** `instance.registration: approval`: accounts wait for an admin; approval mails the user (real SMTP server). */
describe('approval registration mode', () => {
  const dir = tempDir('parley-approval-');
  let server: ServerProcess;
  let smtp: SmtpSink;

  beforeAll(async () => {
    smtp = await startSmtpSink();
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
      PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__INSTANCE__REGISTRATION: 'approval',
      // The operator names the admin (on a backend shared with the suite above it is not the first account).
      PARLEY__INSTANCE__ADMINS: '["APR_ROOT@example.test"]',
      PARLEY__SMTP__HOST: '127.0.0.1',
      PARLEY__SMTP__PORT: String(smtp.port),
      PARLEY__JOBS__POLL_INTERVAL: '50',
    });
  });

  afterAll(async () => {
    await server?.stop();
    await smtp?.stop();
    dir.remove();
  });

  const register = (username: string) =>
    request(`${server.url}/api/v1/auth/register`, 'POST', {
      body: { username, email: `${username}@example.test`, password: PASSWORD },
    });

  it('the admin (named in instance.admins) needs no approval; later accounts wait, are approved or rejected', async () => {
    const first = await register('apr_root');
    expect(first.status).toBe(201);
    const admin = new Client(server.url);
    admin.token = first.body.token as string;

    const waiting = await register('apr_carol');
    expect(waiting.status).toBe(201);
    expect(waiting.body).toMatchObject({
      token: null,
      pending_approval: true,
      user: { username: 'apr_carol' },
    });
    const refused = await login(server, 'apr_carol');
    expect(refused.status).toBe(400);
    expect(refused.body.errors.login[0]).toEqual({
      code: 'ACCOUNT_PENDING_APPROVAL',
      message: 'This account is waiting for an administrator to approve it',
    });
    const spam = await register('apr_spam');

    const queue = await admin.get('/admin/registrations');
    expect(queue.body.map((u: { username: string }) => u.username)).toEqual(['apr_spam', 'apr_carol']);
    expect(queue.body[0]).toMatchObject({ pending_approval: true });

    const approved = await admin.post(`/admin/registrations/${waiting.body.user.id}/approve`);
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ username: 'apr_carol', pending_approval: false });
    const mail = await waitFor(
      () => smtp.mails.find((m) => recipient(m) === 'apr_carol@example.test'),
      'the approval mail arrived',
      30_000,
    );
    expect(mail.subject).toMatch(/approved/);
    expect((await login(server, 'apr_carol')).status).toBe(200);
    // Approving twice is refused.
    expect((await admin.post(`/admin/registrations/${waiting.body.user.id}/approve`)).status).toBe(400);

    expect((await admin.post(`/admin/registrations/${spam.body.user.id}/reject`)).status).toBe(204);
    expect((await login(server, 'apr_spam')).status).toBe(401);
    expect((await admin.get('/admin/registrations')).body).toEqual([]);
    const log = (await admin.get('/admin/audit-log?limit=2')).body.map((e: { action: string }) => e.action);
    expect(log).toEqual(['registration.reject', 'registration.approve']);
    // The rejected name can register again (and waits again).
    expect((await register('apr_spam')).body).toMatchObject({ pending_approval: true });
  });
});
