import type { Browser } from 'playwright-core';
import { Client, startServer, tempDir, type ServerProcess } from '../e2e/harness';
import { waitFor } from '../support/wait';
import {
  type InPage,
  type InPageLink,
  launchBrowser,
  openPerson,
  requireBrowserSetup,
  type Person,
} from './browser';

// Notification settings in real headless Chromium against the compiled monolith: a member picks a level and
// mutes a channel in the guild's notification dialog; the muted channel stops looking unread while an
// ordinary one does, and the choice is the server's (it survives a reload and reads back over REST).
jest.setTimeout(120_000);

let server: ServerProcess;
let dir: { path: string; remove: () => void };
let browser: Browser;
let bob: Person;
let owner: Client;
let member: Client;
let guildId = '';
let general = '';
let random = '';
let news = '';

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-notify-');
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
  });
  owner = new Client(server.url);
  member = new Client(server.url);
  await owner.register('alice');
  await member.register('bob');
  const guild = await owner.post<{ id: string; channels: { id: string; type: number }[] }>('/guilds', {
    name: 'Harbour',
  });
  guildId = guild.body.id;
  general = guild.body.channels.find((c) => c.type === 0)?.id ?? '';
  random = (await owner.post<{ id: string }>(`/guilds/${guildId}/channels`, { name: 'random' })).body.id;
  news = (await owner.post<{ id: string }>(`/guilds/${guildId}/channels`, { name: 'news' })).body.id;
  const invite = await owner.post<{ code: string }>(`/channels/${general}/invites`, {});
  await member.post(`/invites/${invite.body.code}`);

  browser = await launchBrowser();
  bob = await openPerson(browser, server.url, { width: 1280, height: 800 });
  await bob.page.addInitScript(
    (token: string) => localStorage.setItem('parley.token', token),
    member.token ?? '',
  );
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  dir?.remove();
});

describe('notification settings in the web client', () => {
  test('a level and a muted channel are saved, shown, and keep muted channels from looking unread', async () => {
    const page = bob.page;
    await page.goto(`/channels/${guildId}/${general}`);
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();

    await page.getByRole('button', { name: 'Notification settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Notifications in Harbour' });
    await dialog.getByRole('radio', { name: 'Guild default (All messages)', checked: true }).waitFor();
    // The controls show what the server answered, so each click is confirmed once it is checked.
    await dialog.getByRole('radio', { name: 'Only @mentions' }).click();
    await dialog.getByRole('radio', { name: 'Only @mentions', checked: true }).waitFor();
    await dialog.getByRole('checkbox', { name: 'Mute #random' }).click();
    await dialog.getByRole('checkbox', { name: 'Mute #random', checked: true }).waitFor();
    await dialog.getByRole('button', { name: 'Done' }).click();

    const channels = page.getByRole('navigation', { name: 'Harbour channels' });
    await channels.getByRole('link', { name: 'random, muted', exact: true }).waitFor();

    // New messages in two channels, the muted one first: the other turns unread, the muted one stays quiet.
    await owner.post(`/channels/${random}/messages`, { content: 'in the muted channel' });
    await owner.post(`/channels/${news}/messages`, { content: 'in the news' });
    await channels.getByRole('link', { name: 'news, unread', exact: true }).waitFor();
    expect(await channels.getByRole('link', { name: 'random, muted', exact: true }).count()).toBe(1);

    // The server holds the choice.
    const stored = await member.get(`/users/@me/guilds/${guildId}/settings`);
    expect(stored.body).toMatchObject({
      message_notifications: 1,
      channel_overrides: [{ channel_id: random, muted: true }],
    });

    // And the dialog shows it after a reload.
    await page.reload();
    await channels.getByRole('link', { name: 'random, muted', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Notification settings' }).click();
    const again = page.getByRole('dialog', { name: 'Notifications in Harbour' });
    await again.getByRole('radio', { name: 'Only @mentions', checked: true }).waitFor();
    await again.getByRole('checkbox', { name: 'Mute #random', checked: true }).waitFor();
  });

  test('the tab title counts unread messages and mentions, and marking the guild read clears it', async () => {
    const page = bob.page;
    await page.goto(`/channels/${guildId}/${general}`);
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();
    const bobId = (await member.get<{ id: string }>('/users/@me')).body.id;

    await owner.post(`/channels/${news}/messages`, { content: 'more news' });
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.title.startsWith('• '));
    await owner.post(`/channels/${news}/messages`, { content: `<@${bobId}> look at this` });
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.title.startsWith('(1) '));
    // The favicon carries the badge (a drawn PNG instead of the plain SVG).
    await page.waitForFunction(
      () =>
        (globalThis as unknown as InPage).document
          .querySelector<InPageLink>('link[rel="icon"]')
          ?.href.startsWith('data:image/png') === true,
    );

    await page.getByRole('button', { name: 'Notification settings' }).click();
    await page.getByRole('button', { name: 'Mark Harbour as read' }).click();
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.title === 'Parley');
    await page.waitForFunction(
      () =>
        (globalThis as unknown as InPage).document
          .querySelector<InPageLink>('link[rel="icon"]')
          ?.href.endsWith('/favicon.svg') === true,
    );
    // The server records it too (the acks leave after a short debounce).
    await waitFor(async () => {
      const states =
        await member.get<{ channel_id: string; mention_count: number }[]>('/users/@me/read-states');
      return states.body.find((r) => r.channel_id === news)?.mention_count === 0;
    }, 'the server to hold #news as read');
  });
});
