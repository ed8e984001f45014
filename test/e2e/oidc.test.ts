import { freePort } from '../support/process';
import { FormBrowser, type OidcProvider, startOidcProvider } from '../support/oidc';
import { request, type Reply } from '../support/rest';
import { type ServerProcess, startServer, tempDir } from './harness';

const PASSWORD = 'correct horse battery';

/**
 * Issue 23's single sign-on against a real OpenID provider (`oidc-provider`, its own process): the whole
 * authorization-code flow with PKCE, driven over HTTP through the provider's login and consent forms; accounts
 * made just in time, linked to an existing account only with its password, and a replayed callback refused.
 */
describe('single sign-on over OpenID Connect', () => {
  const dir = tempDir('parley-oidc-');
  let server: ServerProcess;
  let idp: OidcProvider;
  let publicUrl: string;

  const api = (method: string, path: string, init: { token?: string; body?: unknown } = {}): Promise<Reply> =>
    request(`${server.url}/api/v1${path}`, method, init);

  /** A full login as `login` at the provider; the fragment the server sent the browser to `/oidc` with. */
  async function signIn(login: string): Promise<{ outcome: URLSearchParams; callback: string }> {
    const browser = new FormBrowser(`${publicUrl}/oidc`);
    const visit = await browser.signIn(`${server.url}/api/v1/auth/oidc/idp/start`, login);
    const callback = visit.visited.find((url) => url.includes('/api/v1/auth/oidc/idp/callback'));
    if (!callback) throw new Error(`no callback in ${visit.visited.join(' -> ')}`);
    return { outcome: new URLSearchParams(visit.url.hash.slice(1)), callback };
  }

  beforeAll(async () => {
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    idp = await startOidcProvider({
      clients: [
        {
          client_id: 'parley',
          client_secret: 'parley-client-secret',
          redirect_uris: [`${publicUrl}/api/v1/auth/oidc/idp/callback`],
        },
      ],
      accounts: {
        alice: { email: 'Alice@Example.test', preferred_username: 'alice.sso', name: 'Alice' },
        clash: { email: 'clash-sso@example.test', preferred_username: 'taken_name' },
        carol: { email: 'carol@example.test', preferred_username: 'carol' },
      },
    });
    server = await startServer({
      PARLEY__SERVER__PORT: String(port),
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
      PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
      PARLEY__AUTH__PUBLIC_URL: publicUrl,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__AUTH__OIDC: JSON.stringify({
        providers: [
          {
            id: 'idp',
            name: 'Test IdP',
            issuer: idp.issuer,
            client_id: 'parley',
            client_secret: 'parley-client-secret',
            scopes: ['openid', 'email', 'profile'],
          },
        ],
        sso_only: false,
        state_ttl: 600000,
      }),
    });
  });

  afterAll(async () => {
    await server?.stop();
    await idp?.stop();
    dir.remove();
  });

  it('lists the providers for the login screen', async () => {
    const res = await api('GET', '/auth/oidc/providers');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ providers: [{ id: 'idp', name: 'Test IdP' }], sso_only: false });
    expect((await api('GET', '/auth/oidc/nope/start')).status).toBe(404);
    const doc = (await (await fetch(`${server.url}/api/docs`)).json()) as { paths: Record<string, unknown> };
    for (const path of [
      '/api/v1/auth/oidc/providers',
      '/api/v1/auth/oidc/{provider}/start',
      '/api/v1/auth/oidc/{provider}/callback',
      '/api/v1/auth/oidc/link',
      '/api/v1/users/@me/data-export',
    ])
      expect(doc.paths).toHaveProperty([path]);
  });

  it('starts the code flow with PKCE (S256), state and nonce', async () => {
    const res = await new FormBrowser(`${publicUrl}/oidc`).fetch(`${server.url}/api/v1/auth/oidc/idp/start`);
    expect(res.status).toBe(302);
    const to = new URL(res.headers.get('location') ?? '');
    expect(to.origin).toBe(idp.issuer);
    expect(Object.fromEntries(to.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: 'parley',
      redirect_uri: `${publicUrl}/api/v1/auth/oidc/idp/callback`,
      scope: 'openid email profile',
      code_challenge_method: 'S256',
    });
    expect(to.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(to.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('makes an account just in time, then logs the same identity in to it', async () => {
    const first = await signIn('alice');
    const token = first.outcome.get('token');
    expect(token).toBeTruthy();
    const me = await api('GET', '/users/@me', { token: token! });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ username: 'alice.sso', email: 'alice@example.test', verified: true });

    const again = await signIn('alice');
    const second = await api('GET', '/users/@me', { token: again.outcome.get('token')! });
    expect(second.body.id).toBe(me.body.id);
    // Made without a password: none logs in to it.
    expect(
      (await api('POST', '/auth/login', { body: { login: 'alice@example.test', password: PASSWORD } }))
        .status,
    ).toBe(401);
  });

  it('makes a taken preferred username unique', async () => {
    const taken = await api('POST', '/auth/register', {
      body: { username: 'taken_name', email: 'taken@example.test', password: PASSWORD },
    });
    expect(taken.status).toBe(201);
    const { outcome } = await signIn('clash');
    const me = await api('GET', '/users/@me', { token: outcome.get('token')! });
    expect(me.body.username).toMatch(/^taken_name_\d{4}$/);
    expect(me.body.id).not.toBe(taken.body.user.id);
  });

  it('links an identity to the account its email names only with that account password', async () => {
    const carol = await api('POST', '/auth/register', {
      body: { username: 'carol_pw', email: 'carol@example.test', password: PASSWORD },
    });
    expect(carol.status).toBe(201);

    const { outcome } = await signIn('carol');
    expect(outcome.get('token')).toBeNull();
    const ticket = outcome.get('link_ticket');
    expect(ticket).toBeTruthy();
    expect(outcome.get('email')).toBe('carol@example.test');
    expect(outcome.get('provider')).toBe('Test IdP');

    const wrong = await api('POST', '/auth/oidc/link', { body: { ticket, password: 'not the password' } });
    expect(wrong.status).toBe(401);
    const linked = await api('POST', '/auth/oidc/link', { body: { ticket, password: PASSWORD } });
    expect(linked.status).toBe(200);
    expect(linked.body.user.id).toBe(carol.body.user.id);
    // The ticket linked once: never again.
    expect((await api('POST', '/auth/oidc/link', { body: { ticket, password: PASSWORD } })).status).toBe(400);

    // From now on the identity logs straight in to carol's account.
    const next = await signIn('carol');
    const me = await api('GET', '/users/@me', { token: next.outcome.get('token')! });
    expect(me.body.id).toBe(carol.body.user.id);
  });

  it('refuses a replayed callback (its state is used up) and a state it never issued', async () => {
    const { outcome, callback } = await signIn('alice');
    expect(outcome.get('token')).toBeTruthy();
    const browser = new FormBrowser(`${publicUrl}/oidc`);
    const replay = await browser.fetch(callback);
    expect(replay.status).toBe(302);
    const refused = new URLSearchParams(new URL(replay.headers.get('location')!).hash.slice(1));
    expect(refused.get('token')).toBeNull();
    expect(refused.get('error')).toMatch(/invalid, used or expired/);

    const forged = new URL(callback);
    forged.searchParams.set('state', 'A'.repeat(43));
    const res = await browser.fetch(forged.toString());
    const answer = new URLSearchParams(new URL(res.headers.get('location')!).hash.slice(1));
    expect(answer.get('token')).toBeNull();
    expect(answer.get('error')).toMatch(/invalid, used or expired/);
  });
});

describe('single sign-on only (auth.oidc.sso_only)', () => {
  const dir = tempDir('parley-sso-only-');
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__AUTH__OIDC: JSON.stringify({
        providers: [
          {
            id: 'corp',
            name: 'Corp',
            issuer: 'https://idp.example.test',
            client_id: 'parley',
            client_secret: 's',
            scopes: ['openid', 'email'],
          },
        ],
        sso_only: true,
        state_ttl: 600000,
      }),
    });
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  it('refuses password registration and login, and says so to the login screen', async () => {
    const url = (path: string) => `${server.url}/api/v1${path}`;
    expect((await request(url('/auth/oidc/providers'), 'GET')).body).toEqual({
      providers: [{ id: 'corp', name: 'Corp' }],
      sso_only: true,
    });
    const register = await request(url('/auth/register'), 'POST', {
      body: { username: 'nope', email: 'nope@example.test', password: PASSWORD },
    });
    expect(register.status).toBe(403);
    const login = await request(url('/auth/login'), 'POST', { body: { login: 'nope', password: PASSWORD } });
    expect(login.status).toBe(403);
  });
});
