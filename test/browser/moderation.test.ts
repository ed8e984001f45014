import type { Browser } from 'playwright-core';
import { Client, startServer, tempDir, waitFor, type ServerProcess } from '../e2e/harness';
import { launchBrowser, message, openPerson, requireBrowserSetup, type Person } from './browser';

// Moderation in real headless Chromium against the compiled monolith: the audit log viewer with its filters, the
// timeout dialog with a reason from the member profile, and blocking a member whose messages then hide behind a click.
jest.setTimeout(120_000);

let server: ServerProcess;
let dir: { path: string; remove: () => void };
let browser: Browser;
let alice: Person;
let api: Client;
let bobApi: Client;
let bobId = '';
let guildId = '';
let general = '';
const pageErrors: string[] = [];

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-moderation-');
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
  });
  api = new Client(server.url);
  bobApi = new Client(server.url);
  const registered = await api.post<{ token: string }>('/auth/register', {
    username: 'alice',
    email: 'alice@example.test',
    password: 'correct horse battery',
  });
  api.token = registered.body.token;
  bobId = (await bobApi.register('bob')).id;
  const guild = await api.post<{ id: string; channels: { id: string; type: number }[] }>('/guilds', {
    name: 'Harbour',
  });
  guildId = guild.body.id;
  general = guild.body.channels.find((c) => c.type === 0)?.id ?? '';
  const invite = await api.post<{ code: string }>(`/channels/${general}/invites`, {});
  expect((await bobApi.post(`/invites/${invite.body.code}`)).status).toBe(200);
  await api.post(`/guilds/${guildId}/roles`, { name: 'deckhands' });
  await api.patch(`/channels/${general}`, { topic: 'Ships and tides' });
  expect((await bobApi.post(`/channels/${general}/messages`, { content: 'Ahoy from Bob' })).status).toBe(200);

  browser = await launchBrowser();
  alice = await openPerson(browser, server.url, { width: 1440, height: 900 });
  alice.page.on('pageerror', (err) => pageErrors.push(err.message));
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

describe('moderation in the web client', () => {
  test('times a member out with a reason, then finds it in the audit log with its filters', async () => {
    const page = alice.page;
    await page.goto(`/channels/${guildId}/${general}`);
    await message(page, 'Ahoy from Bob').waitFor();
    await page.getByRole('complementary', { name: 'Members' }).getByRole('button', { name: /bob/ }).click();
    const profile = page.getByRole('dialog', { name: 'bob' });
    await profile.getByRole('button', { name: 'Timeout' }).click();
    const dialog = page.getByRole('dialog', { name: 'Timeout bob' });
    await dialog.getByLabel('Duration').selectOption({ label: '1 hour' });
    await dialog.getByLabel('Reason').fill('Cooling off: shouting');
    await dialog.getByRole('button', { name: 'Timeout' }).click();
    await dialog.waitFor({ state: 'detached' });
    const member = await api.get<{ communication_disabled_until: string }>(
      `/guilds/${guildId}/members/${bobId}`,
    );
    expect(Date.parse(member.body.communication_disabled_until)).toBeGreaterThan(Date.now() + 50 * 60_000);
    await profile.getByRole('button', { name: 'Close' }).click();

    // Entries are written just after the action: wait for the timeout's before opening the viewer.
    await waitFor(async () => {
      const log = await api.get<{ audit_log_entries: unknown[] }>(
        `/guilds/${guildId}/audit-logs?action_type=24`,
      );
      return log.body.audit_log_entries.length === 1;
    }, 'the timeout in the audit log');
    await page.getByRole('button', { name: 'Guild settings' }).click();
    const settings = page.getByRole('dialog', { name: 'Harbour settings' });
    await settings.getByRole('tab', { name: 'Audit log' }).click();
    const entries = settings.getByRole('list', { name: 'Audit log' }).getByRole('listitem');
    await entries.filter({ hasText: 'Role created' }).waitFor();
    await entries
      .filter({ hasText: 'Member updated' })
      .filter({ hasText: 'Reason: Cooling off: shouting' })
      .waitFor();
    await settings.getByLabel('Action').selectOption({ label: 'Role created' });
    await waitFor(async () => (await entries.count()) === 1, 'only the role entry listed');
    expect(await entries.first().innerText()).toContain('alice Role created');
    await settings.getByLabel('Action').selectOption({ label: 'All actions' });
    await settings.getByLabel('User').selectOption({ label: 'bob' });
    await settings.getByText('Nothing logged.').waitFor();
    await settings.getByRole('button', { name: 'Close' }).last().click();
    expect(pageErrors).toEqual([]);
  });

  test('blocking a member hides their messages behind "Show message"', async () => {
    const page = alice.page;
    await page.getByRole('complementary', { name: 'Members' }).getByRole('button', { name: /bob/ }).click();
    const profile = page.getByRole('dialog', { name: 'bob' });
    await profile.getByRole('button', { name: 'Block' }).click();
    await profile.getByRole('button', { name: 'Unblock' }).waitFor();
    await profile.getByRole('button', { name: 'Close' }).click();
    const hidden = page.locator('article.message').filter({ hasText: 'Blocked message' });
    await hidden.waitFor();
    expect(await hidden.innerText()).not.toContain('Ahoy from Bob');
    await hidden.getByRole('button', { name: 'Show message' }).click();
    await message(page, 'Ahoy from Bob').waitFor();
    expect((await api.get('/users/@me/relationships')).body).toEqual([
      expect.objectContaining({ id: bobId, type: 2 }),
    ]);
    expect(pageErrors).toEqual([]);
  });
});
