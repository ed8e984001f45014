import { request } from '../support/rest';
import { type ServerProcess, startServer, tempDir } from './harness';

const PASSWORD = 'correct horse battery';

/**
 * `instance.registration` against the compiled server, one database under three settings: open (the first
 * accounts and an invite are made), invite_only (only with a live invite code, Discord's `invite` field of
 * register), closed (nobody).
 */
describe('registration modes (instance.registration)', () => {
  const dir = tempDir('parley-registration-');
  let server: ServerProcess | undefined;
  const start = async (registration: string) => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
      PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__INSTANCE__REGISTRATION: registration,
    });
    return server;
  };
  const stop = async () => {
    await server?.stop();
    server = undefined;
  };
  const register = (s: ServerProcess, username: string, invite?: string) =>
    request(`${s.url}/api/v1/auth/register`, 'POST', {
      body: { username, email: `${username}@example.test`, password: PASSWORD, invite },
    });

  afterAll(async () => {
    await stop();
    dir.remove();
  });

  it('open, then invite_only (a live invite code or nothing), then closed', async () => {
    const open = await start('open');
    const owner = await register(open, 'reg_owner');
    expect(owner.status).toBe(201);
    const token = owner.body.token as string;
    const guild = await request(`${open.url}/api/v1/guilds`, 'POST', { token, body: { name: 'Invites' } });
    const channelId = guild.body.channels[0].id as string;
    const invite = await request(`${open.url}/api/v1/channels/${channelId}/invites`, 'POST', {
      token,
      body: {},
    });
    const once = await request(`${open.url}/api/v1/channels/${channelId}/invites`, 'POST', {
      token,
      body: { max_uses: 1 },
    });
    await request(`${open.url}/api/v1/invites/${once.body.code}`, 'POST', {
      token: (await register(open, 'reg_used_it')).body.token,
    });
    await stop();

    const inviteOnly = await start('invite_only');
    const without = await register(inviteOnly, 'reg_without');
    expect(without.status).toBe(400);
    expect(without.body).toMatchObject({ errors: { invite: [{ code: 'INVITE_REQUIRED' }] } });
    const bogus = await register(inviteOnly, 'reg_bogus', 'no-such-invite');
    expect(bogus.body).toMatchObject({ errors: { invite: [{ code: 'INVITE_INVALID' }] } });
    const exhausted = await register(inviteOnly, 'reg_exhausted', once.body.code as string);
    expect(exhausted.body).toMatchObject({ errors: { invite: [{ code: 'INVITE_INVALID' }] } });
    const invited = await register(inviteOnly, 'reg_invited', invite.body.code as string);
    expect(invited.status).toBe(201);
    // Accounts made before keep working.
    const login = await request(`${inviteOnly.url}/api/v1/auth/login`, 'POST', {
      body: { login: 'reg_owner', password: PASSWORD },
    });
    expect(login.status).toBe(200);
    await stop();

    const closed = await start('closed');
    const refused = await register(closed, 'reg_closed', invite.body.code as string);
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/closed/);
    expect(
      (
        await request(`${closed.url}/api/v1/auth/login`, 'POST', {
          body: { login: 'reg_invited', password: PASSWORD },
        })
      ).status,
    ).toBe(200);
  });
});
