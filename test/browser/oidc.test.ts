import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startServer, tempDir, type ServerProcess } from '../e2e/harness';
import { startOidcProvider, type OidcProvider } from '../support/oidc';
import { freePort } from '../support/process';
import { request } from '../support/rest';
import { launchBrowser, requireBrowserSetup, seeText } from './browser';

// Single sign-on in real headless Chromium: the login screen's "Log in with Test IdP" button, the real
// provider's (oidc-provider, its own process) login and consent pages, back to the web client signed in; then an
// identity whose email names an existing account goes through the link screen (that account's password), and
// that person asks for their data and deletes their account from "My account". The steps build on each other.

const PASSWORD = 'correct horse battery';

let server: ServerProcess;
let idp: OidcProvider;
let dir: { path: string; remove: () => void };
let browser: Browser;
let publicUrl: string;
const thirdParty: string[] = [];

/** A person's own context: everything from the server or the provider; anything else is blocked and noted. */
async function person(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, baseURL: publicUrl });
  context.setDefaultTimeout(15_000);
  await context.route(
    (url) => !url.href.startsWith(publicUrl) && !url.href.startsWith(idp.issuer) && url.protocol !== 'data:',
    (route) => {
      // The provider's development pages import a web font: not ours to load.
      thirdParty.push(route.request().url());
      return route.abort();
    },
  );
  return { context, page: await context.newPage() };
}

/** Through the provider's own pages: any login name, then the consent. */
async function atProvider(page: Page, login: string): Promise<void> {
  await page.waitForURL((url) => url.href.startsWith(idp.issuer));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-oidc-');
  const port = await freePort();
  publicUrl = `http://127.0.0.1:${port}`;
  idp = await startOidcProvider({
    clients: [
      {
        client_id: 'parley',
        client_secret: 'browser-secret',
        redirect_uris: [`${publicUrl}/api/v1/auth/oidc/idp/callback`],
      },
    ],
    accounts: {
      dora: { email: 'dora@example.test', preferred_username: 'dora' },
      erin: { email: 'erin@example.test', preferred_username: 'erin_sso' },
    },
  });
  server = await startServer({
    PARLEY__SERVER__PORT: String(port),
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
    PARLEY__AUTH__PUBLIC_URL: publicUrl,
    PARLEY__JOBS__POLL_INTERVAL: '50',
    PARLEY__AUTH__OIDC: JSON.stringify({
      providers: [
        {
          id: 'idp',
          name: 'Test IdP',
          issuer: idp.issuer,
          client_id: 'parley',
          client_secret: 'browser-secret',
          scopes: ['openid', 'email', 'profile'],
        },
      ],
      sso_only: false,
      state_ttl: 600000,
    }),
  });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await idp?.stop();
  dir?.remove();
});

describe('single sign-on in a real browser', () => {
  test('Dora logs in with the provider and lands in the app with an account made for her', async () => {
    const { context, page } = await person();
    await page.goto('/login');
    await page.getByRole('link', { name: 'Log in with Test IdP' }).click();
    await atProvider(page, 'dora');
    await page.waitForURL(/\/channels\/@me/);
    await page.getByRole('button', { name: 'My account' }).waitFor();
    const token = await page.evaluate(() => localStorage.getItem('parley.token'));
    const me = await request(`${server.url}/api/v1/users/@me`, 'GET', { token });
    expect(me.body).toMatchObject({ username: 'dora', email: 'dora@example.test' });
    await context.close();
  });

  test('Erin links the provider to her account with its password, asks for her data, then deletes it', async () => {
    const erin = await request(`${server.url}/api/v1/auth/register`, 'POST', {
      body: { username: 'erin', email: 'erin@example.test', password: PASSWORD },
    });
    expect(erin.status).toBe(201);
    const { context, page } = await person();
    await page.goto('/login');
    await page.getByRole('link', { name: 'Log in with Test IdP' }).click();
    await atProvider(page, 'erin');
    await seeText(page, 'Link your Test IdP login');
    await seeText(page, 'erin@example.test');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Link and sign in' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Link and sign in' }).click();
    await page.waitForURL(/\/channels\/@me/);
    const token = await page.evaluate(() => localStorage.getItem('parley.token'));
    const me = await request(`${server.url}/api/v1/users/@me`, 'GET', { token });
    expect(me.body.id).toBe(erin.body.user.id);

    await page.getByRole('button', { name: 'My account' }).click();
    await page.getByRole('button', { name: 'Request my data' }).click();
    const link = page.getByRole('link', { name: 'Download your data' });
    await link.waitFor();
    expect(await link.getAttribute('href')).toMatch(/^\/api\/v1\/data-exports\/\d+\/\d+\.zip\?ex=/);

    await page.getByRole('button', { name: 'Delete account' }).click();
    await page.locator('input[name="delete-password"]').fill(PASSWORD);
    await page.getByRole('button', { name: 'Delete my account' }).click();
    await page.waitForURL(/\/login$/);
    expect((await request(`${server.url}/api/v1/users/@me`, 'GET', { token })).status).toBe(401);
    await context.close();
  });
});
