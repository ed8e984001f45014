import { GatewayClient } from '../support/clients';
import { freePort } from '../support/process';
import { FormBrowser, type OidcProvider, startOidcProvider } from '../support/oidc';
import { request, type Reply } from '../support/rest';
import {
  type RoleProcess,
  clusterEnv,
  clusterScope,
  requireSharedServices,
  startRole,
} from '../integration/microservices/processes';

const PASSWORD = 'correct horse battery';

/**
 * Single sign-on in microservices mode against a real OpenID provider (`oidc-provider`, its own process): two
 * api processes, a gateway and a queue over the machine's NATS and Redis. Every login starts on one api process
 * and its callback lands on the other (the one `auth.public_url` names), so the state, PKCE verifier and nonce,
 * and the link ticket after it, must be shared by every api process, never held in one's memory.
 */
describe('single sign-on over OpenID Connect, microservices', () => {
  const scope = clusterScope();
  let idp: OidcProvider;
  let publicUrl: string;
  /** Named by `auth.public_url`: the provider sends every callback here. */
  let callbackApi: RoleProcess;
  /** Where every login starts. */
  let startApi: RoleProcess;
  let gateway: RoleProcess;

  const api = (
    on: RoleProcess,
    method: string,
    path: string,
    init: { token?: string; body?: unknown } = {},
  ): Promise<Reply> => request(`${on.url}/api/v1${path}`, method, init);

  /** A full login as `login` at the provider, started on startApi; the callback's URL and the fragment. */
  async function signIn(login: string): Promise<{ outcome: URLSearchParams; callback: string }> {
    const browser = new FormBrowser(`${publicUrl}/oidc`);
    const visit = await browser.signIn(`${startApi.url}/api/v1/auth/oidc/idp/start`, login);
    const callback = visit.visited.find((url) => url.includes('/api/v1/auth/oidc/idp/callback'));
    if (!callback) throw new Error(`no callback in ${visit.visited.join(' -> ')}`);
    // The other process took the callback.
    expect(new URL(callback).origin).toBe(callbackApi.url);
    return { outcome: new URLSearchParams(visit.url.hash.slice(1)), callback };
  }

  beforeAll(async () => {
    await requireSharedServices();
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
        alice: { email: 'alice-ms@example.test', preferred_username: 'alice_ms', name: 'Alice' },
        carol: { email: 'carol-ms@example.test', preferred_username: 'carol_ms' },
      },
    });
    const env: Record<string, string> = {
      ...clusterEnv(scope.prefix, `${scope.dir.path}/parley.db`),
      PARLEY__STORAGE__LOCAL__PATH: `${scope.dir.path}/files`,
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
    };
    // One process first: it migrates the shared database before the others open it.
    callbackApi = await startRole('api', {
      ...env,
      PARLEY__SERVER__PORT: String(port),
      PARLEY__INSTANCE__NODE_ID: '1',
    });
    [startApi, gateway] = await Promise.all([
      startRole('api', { ...env, PARLEY__INSTANCE__NODE_ID: '2' }),
      startRole('gateway', { ...env, PARLEY__INSTANCE__NODE_ID: '3' }),
      startRole('queue', { ...env, PARLEY__INSTANCE__NODE_ID: '4' }),
    ]);
  }, 90_000);

  afterAll(async () => {
    await scope.cleanUp();
    await idp?.stop();
  });

  it('makes an account just in time across api processes; its token works on every process and the gateway', async () => {
    const first = await signIn('alice');
    const token = first.outcome.get('token');
    expect(first.outcome.get('error')).toBeNull();
    expect(token).toBeTruthy();
    for (const on of [startApi, callbackApi]) {
      const me = await api(on, 'GET', '/users/@me', { token: token! });
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ username: 'alice_ms', email: 'alice-ms@example.test', verified: true });
    }
    const session = scope.track(await GatewayClient.ready(gateway.url, token!));
    expect(session.events.find((e) => e.name === 'READY')?.payload.d.user.username).toBe('alice_ms');

    // The same identity again: the same account.
    const again = await signIn('alice');
    const second = await api(startApi, 'GET', '/users/@me', { token: again.outcome.get('token')! });
    expect(second.body.username).toBe('alice_ms');
  });

  it('links an identity to an existing account with its password, the ticket shared by the api processes', async () => {
    const carol = await api(callbackApi, 'POST', '/auth/register', {
      body: { username: 'carol_pw', email: 'carol-ms@example.test', password: PASSWORD },
    });
    expect(carol.status).toBe(201);
    const { outcome } = await signIn('carol');
    const ticket = outcome.get('link_ticket');
    expect(ticket).toBeTruthy();

    const wrong = await api(startApi, 'POST', '/auth/oidc/link', { body: { ticket, password: 'not it' } });
    expect(wrong.status).toBe(401);
    const linked = await api(callbackApi, 'POST', '/auth/oidc/link', {
      body: { ticket, password: PASSWORD },
    });
    expect(linked.status).toBe(200);
    expect(linked.body.user.id).toBe(carol.body.user.id);
    expect(
      (await api(startApi, 'POST', '/auth/oidc/link', { body: { ticket, password: PASSWORD } })).status,
    ).toBe(400);

    const next = await signIn('carol');
    const me = await api(startApi, 'GET', '/users/@me', { token: next.outcome.get('token')! });
    expect(me.body.id).toBe(carol.body.user.id);
  });

  it('refuses a replayed callback on either api process (the state is used up everywhere)', async () => {
    const { outcome, callback } = await signIn('alice');
    expect(outcome.get('token')).toBeTruthy();
    const browser = new FormBrowser(`${publicUrl}/oidc`);
    const elsewhere = new URL(callback);
    const other = new URL(startApi.url);
    elsewhere.host = other.host;
    for (const url of [callback, elsewhere.toString()]) {
      const replay = await browser.fetch(url);
      expect(replay.status).toBe(302);
      const refused = new URLSearchParams(new URL(replay.headers.get('location')!).hash.slice(1));
      expect(refused.get('token')).toBeNull();
      expect(refused.get('error')).toMatch(/invalid, used or expired/);
    }
  });
});
