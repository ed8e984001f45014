// A real OpenID provider for the tests, run as its own process: `oidc-provider` (a certified implementation)
// with its development login and consent pages. Any login name signs in as the subject of that name; its email
// and preferred_username come from OIDC_TEST_ACCOUNTS (JSON: {"<login>": {"email", "preferred_username"}}),
// else <login>@idp.test. Prints "oidc provider listening at <issuer>" once it answers.
//   OIDC_TEST_PORT (0 = any free one), OIDC_TEST_CLIENTS (JSON: [{client_id, client_secret, redirect_uris}])
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const env = process.env;
const accounts = JSON.parse(env.OIDC_TEST_ACCOUNTS ?? '{}');
const clients = JSON.parse(env.OIDC_TEST_CLIENTS ?? '[]');

const server = createServer();
await new Promise((resolve) => server.listen(Number(env.OIDC_TEST_PORT ?? 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    ...c,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['preferred_username', 'name'] },
  // The ID token carries the claims (Parley reads them there, not from the userinfo endpoint).
  conformIdTokenClaims: false,
  cookies: { keys: ['parley-test-oidc-provider'] },
  findAccount: (_ctx, sub) => ({
    accountId: sub,
    claims: () => {
      const known = accounts[sub] ?? {};
      return {
        sub,
        email: known.email ?? `${sub}@idp.test`,
        email_verified: known.email_verified ?? true,
        preferred_username: known.preferred_username ?? sub,
        name: known.name ?? sub,
      };
    },
  }),
});
server.on('request', provider.callback());
console.log(`oidc provider listening at ${issuer}`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
