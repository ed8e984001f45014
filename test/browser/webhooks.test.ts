import { type Client, request, type ServerProcess } from '../e2e/harness';
import { type GuildStage, message, openGuildStage, type Person } from './browser';

// Webhooks in real headless Chromium against the compiled monolith: the Integrations tab of guild settings
// (create, copy the URL, rename, delete), and a webhook's message shown under its override name with a tag.
jest.setTimeout(120_000);

let server: ServerProcess;
let stage: GuildStage;
let alice: Person;
let api: Client;
let guildId = '';
let general = '';
let pageErrors: string[] = [];

beforeAll(async () => {
  stage = await openGuildStage('webhooks', 'Lighthouse');
  ({ server, alice, api, guildId, general, pageErrors } = stage);

  await alice.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
});

afterAll(async () => {
  await stage?.close();
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
    expect(await posted.locator('.bot-tag').textContent()).toBe('BOT');

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
