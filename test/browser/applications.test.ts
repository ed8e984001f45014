import { Client, request, type ServerProcess, waitFor } from '../e2e/harness';
import { type GuildStage, message, openGuildStage, type Person } from './browser';

// The developer screen in real headless Chromium against the compiled monolith: Alice creates a bot application
// in her account settings (its token shown once), sets its privileged intents, resets the token, and adds the bot
// to her guild (the guilds where she has MANAGE_GUILD only); the bot then posts with `Authorization: Bot <token>`
// and the page shows its message.
jest.setTimeout(120_000);

const MESSAGE_CONTENT = 1 << 18;
const GUILD_MEMBERS = 1 << 14;

let server: ServerProcess;
let stage: GuildStage;
let alice: Person;
let api: Client;
let guildId = '';
let general = '';
let pageErrors: string[] = [];

beforeAll(async () => {
  stage = await openGuildStage('applications', 'Lighthouse');
  ({ server, alice, api, guildId, general, pageErrors } = stage);
  // A guild Alice is only a member of: not offered for adding bots.
  const bob = new Client(server.url);
  await bob.register('bob');
  const other = await bob.post<{ id: string; channels: { id: string }[] }>('/guilds', { name: 'Harbour' });
  const invite = await bob.post<{ code: string }>(`/channels/${other.body.channels[0].id}/invites`, {});
  expect((await api.post(`/invites/${invite.body.code}`)).status).toBe(200);
});

afterAll(async () => {
  await stage?.close();
});

const asBot = (token: string, path: string, method = 'GET', body?: unknown) =>
  request(`${server.url}/api/v10${path}`, method, {
    headers: { authorization: `Bot ${token}` },
    ...(body !== undefined ? { body } : {}),
  });

describe('applications in the web client', () => {
  test('creates a bot, sets its intents, resets its token, adds it to a guild, and shows what it posts', async () => {
    const page = alice.page;
    await page.goto(`/channels/${guildId}/${general}`);
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();

    await page.getByRole('button', { name: 'My account' }).click();
    const dialog = page.getByRole('dialog', { name: 'My account' });
    const pane = dialog.getByRole('region', { name: 'Applications' });
    await pane.getByText('No applications yet.').waitFor();
    await pane.getByLabel('Application name').fill('Lamp Bot');
    await pane
      .getByRole('form', { name: 'Create an application' })
      .getByRole('checkbox', { name: 'Message content' })
      .check();
    await pane.getByRole('button', { name: 'Create application' }).click();

    const shown = pane.getByRole('status', { name: 'New bot token' }).locator('code');
    await shown.waitFor();
    const firstToken = await shown.innerText();
    expect((await asBot(firstToken, '/users/@me')).body).toMatchObject({ username: 'lamp_bot', bot: true });

    const row = pane.getByRole('listitem', { name: 'Application Lamp Bot' });
    await row.waitFor();
    const listed = (await api.get<{ id: string; flags: number }[]>('/applications')).body;
    expect(listed).toHaveLength(1);
    expect(listed[0].flags).toBe(MESSAGE_CONTENT);
    const appId = listed[0].id;

    // Privileged intents: saved as the application's flags.
    await row.getByRole('checkbox', { name: 'Server members' }).check();
    await waitFor(
      async () =>
        (await api.get<{ flags: number }>(`/applications/${appId}`)).body.flags ===
        (MESSAGE_CONTENT | GUILD_MEMBERS),
      'the Server members intent to be saved',
    );

    // A new token, shown once; the first stops working.
    await row.getByRole('button', { name: 'Reset token' }).click();
    await waitFor(async () => (await shown.innerText()) !== firstToken, 'a new token to be shown');
    const token = await shown.innerText();
    expect((await asBot(firstToken, '/users/@me')).status).toBe(401);
    expect((await asBot(token, '/users/@me')).status).toBe(200);

    // Only Lighthouse (Alice owns it) is offered; Harbour (a member only) is not.
    const add = row.getByRole('form', { name: 'Add Lamp Bot to a server' });
    const options = add.getByLabel('Server').locator('option');
    await waitFor(async () => (await options.count()) > 0, 'the guilds Alice manages to be listed');
    expect(await options.allInnerTexts()).toEqual(['Lighthouse']);
    await add.getByRole('button', { name: 'Add to server' }).click();
    await pane.getByRole('status').filter({ hasText: 'Lamp Bot joined Lighthouse.' }).waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    const posted = await asBot(token, `/channels/${general}/messages`, 'POST', {
      content: 'Lamp lit at dusk',
    });
    expect(posted.status).toBe(200);
    const shownMessage = message(page, 'Lamp lit at dusk');
    await shownMessage.waitFor();
    // Bots' messages carry Discord's APP tag (webhooks' the BOT tag).
    expect(await shownMessage.locator('.bot-tag').textContent()).toBe('APP');
    expect(pageErrors).toEqual([]);
  });
});
