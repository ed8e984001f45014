import type { Browser } from 'playwright-core';
import { Client, request, startServer, tempDir, type ServerProcess } from '../e2e/harness';
import { launchBrowser, message, openPerson, requireBrowserSetup, type Person } from './browser';

// Webhooks in real headless Chromium against the compiled monolith: the Integrations tab of guild settings
// (create, copy the URL, rename, delete), and a webhook's message shown under its override name with a tag.
jest.setTimeout(120_000);

let server: ServerProcess;
let dir: { path: string; remove: () => void };
let browser: Browser;
let alice: Person;
let api: Client;
let guildId = '';
let general = '';
const pageErrors: string[] = [];

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-webhooks-');
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
  });
  api = new Client(server.url);
  const registered = await api.post<{ token: string }>('/auth/register', {
    username: 'alice',
    email: 'alice@example.test',
    password: 'correct horse battery',
  });
  api.token = registered.body.token;
  const guild = await api.post<{ id: string; channels: { id: string; type: number }[] }>('/guilds', {
    name: 'Lighthouse',
  });
  guildId = guild.body.id;
  general = guild.body.channels.find((c) => c.type === 0)?.id ?? '';

  browser = await launchBrowser();
  alice = await openPerson(browser, server.url, { width: 1440, height: 900 });
  alice.page.on('pageerror', (err) => pageErrors.push(err.message));
  await alice.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  await alice.page.addInitScript(
    (token: string) => localStorage.setItem('parley.token', token),
    registered.body.token,
  );
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  dir?.remove();
});

describe('webhooks in the web client', () => {
  test('creates a webhook, copies its URL (which works), renames and deletes it; its message has a BOT tag', async () => {
    const page = alice.page;
    await page.goto(`/channels/${guildId}/${general}`);
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();

    await page.getByRole('button', { name: 'Guild settings' }).click();
    const settings = page.getByRole('dialog', { name: 'Lighthouse settings' });
    await settings.getByRole('tab', { name: 'Integrations' }).click();
    await settings.getByLabel('Name', { exact: true }).fill('Beacon alerts');
    await settings.getByRole('button', { name: 'Create webhook' }).click();
    const rows = settings.getByRole('list', { name: 'Webhooks' }).getByRole('listitem');
    await rows.filter({ has: page.getByLabel('Name of webhook Beacon alerts') }).waitFor();

    await rows.first().getByRole('button', { name: 'Copy URL' }).click();
    await rows.first().getByRole('button', { name: 'Copied' }).waitFor();
    // In the page: the DOM's navigator (the tests' TypeScript has Node's).
    const url = await page.evaluate(() =>
      (navigator as unknown as { clipboard: { readText(): Promise<string> } }).clipboard.readText(),
    );
    expect(url).toMatch(/\/api\/webhooks\/\d+\/[A-Za-z0-9_-]{68}$/);

    // The copied URL is what a sender posts to.
    const sent = await request(`${url}?wait=true`, 'POST', {
      body: { content: 'Lamp check passed', username: 'Keeper' },
    });
    expect(sent.status).toBe(200);
    await page.keyboard.press('Escape');
    await settings.waitFor({ state: 'hidden' });
    const posted = message(page, 'Lamp check passed');
    await posted.waitFor();
    await posted.getByText('Keeper', { exact: true }).waitFor();
    expect(await posted.locator('.bot-tag').innerText()).toBe('BOT');

    await page.getByRole('button', { name: 'Guild settings' }).click();
    await settings.getByRole('tab', { name: 'Integrations' }).click();
    await settings.getByLabel('Name of webhook Beacon alerts').fill('Beacon');
    await settings.getByRole('button', { name: 'Rename' }).click();
    await settings.getByLabel('Name of webhook Beacon', { exact: true }).waitFor();
    const listed = (await api.get<{ name: string }[]>(`/guilds/${guildId}/webhooks`)).body;
    expect(listed.map((w) => w.name)).toEqual(['Beacon']);

    await rows.first().getByRole('button', { name: 'Delete' }).click();
    await settings.getByText('No webhooks.', { exact: false }).waitFor();
    expect((await api.get(`/guilds/${guildId}/webhooks`)).body).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
