import type { Browser } from 'playwright-core';
import { startServer, tempDir, type ServerProcess } from '../e2e/harness';
import { request } from '../support/rest';
import { launchBrowser, openPerson, requireBrowserSetup, seeText, type Person } from './browser';

// Two people in real headless Chromium against the compiled monolith: Ada registers first on the new instance
// and administers it; Mallory registers after her. Only Ada sees the instance admin panel, finds Mallory there
// and disables her account: Mallory's token stops working at once.

const PASSWORD = 'correct horse battery';

let server: ServerProcess;
let dir: { path: string; remove: () => void };
let browser: Browser;
let ada: Person;
let mallory: Person;

async function registerIn(person: Person, username: string): Promise<void> {
  const page = person.page;
  await page.goto('/register');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Email').fill(`${username}@example.test`);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Register', exact: true }).click();
  await page.getByRole('button', { name: 'New guild' }).waitFor();
}

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-admin-');
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
  });
  browser = await launchBrowser();
  ada = await openPerson(browser, server.url, { width: 1280, height: 860 });
  mallory = await openPerson(browser, server.url, { width: 1280, height: 860 });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  dir?.remove();
});

describe('instance admin panel in a real browser', () => {
  test('the first account administers the instance; the panel is shown to it alone', async () => {
    await registerIn(ada, 'ada');
    await registerIn(mallory, 'mallory');
    await ada.page.getByRole('button', { name: 'Instance admin' }).waitFor();
    // Mallory's client asked and was refused: no panel button for her.
    await mallory.page.getByRole('button', { name: 'My account' }).waitFor();
    expect(await mallory.page.getByRole('button', { name: 'Instance admin' }).count()).toBe(0);
  });

  test('Ada finds Mallory, disables her (her token stops working), sees the stats and the audit log', async () => {
    const page = ada.page;
    // The web client keeps its token under `parley.token`.
    const token = await mallory.page.evaluate(() => localStorage.getItem('parley.token') ?? '');
    expect((await request(`${server.url}/api/v1/users/@me`, 'GET', { token })).status).toBe(200);

    await page.getByRole('button', { name: 'Instance admin' }).click();
    const dialog = page.getByRole('dialog', { name: 'Instance admin' });
    await dialog.getByLabel('Search users by username or email').fill('mall');
    await dialog.getByRole('button', { name: 'Search' }).click();
    const row = dialog.getByRole('listitem', { name: 'mallory' });
    await row.getByRole('button', { name: 'Disable' }).click();
    await seeText(row, 'disabled');
    await row.getByRole('button', { name: 'Enable' }).waitFor();
    expect((await request(`${server.url}/api/v1/users/@me`, 'GET', { token })).status).toBe(401);

    await dialog.getByRole('tab', { name: 'Stats' }).click();
    const stats = dialog.getByRole('definition');
    expect(await stats.first().textContent()).toBe('2');

    await dialog.getByRole('tab', { name: 'Audit log' }).click();
    await seeText(dialog, 'user.disable');
  });
});
