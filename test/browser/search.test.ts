import type { Browser, Page } from 'playwright-core';
import { Client, startServer, tempDir, type ServerProcess } from '../e2e/harness';
import { waitFor } from '../support/wait';
import { launchBrowser, message, openPerson, requireBrowserSetup, seeText, type Person } from './browser';

// Search in real headless Chromium against the compiled monolith: a guild seeded over REST, then the search
// box, its filters, and the jump from a result into the channel's history at that message.
jest.setTimeout(120_000);

let server: ServerProcess;
let dir: { path: string; remove: () => void };
let browser: Browser;
let alice: Person;
let guildId = '';
let general = '';
let random = '';
let keeper = '';
const pageErrors: string[] = [];

const results = (page: Page) => page.getByRole('list', { name: 'Search results' }).getByRole('listitem');

async function search(page: Page, text: string): Promise<void> {
  const box = page.getByRole('searchbox', { name: /^Search/ });
  await box.fill(text);
  await box.press('Enter');
}

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-search-');
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
  });
  const api = new Client(server.url);
  const registered = await api.post<{ token: string }>('/auth/register', {
    username: 'alice',
    email: 'alice@example.test',
    password: 'correct horse battery',
  });
  api.token = registered.body.token;
  const guild = await api.post<{ id: string; channels: { id: string; type: number }[] }>('/guilds', {
    name: 'Harbour',
  });
  guildId = guild.body.id;
  general = guild.body.channels.find((c) => c.type === 0)?.id ?? '';
  random = (await api.post<{ id: string }>(`/guilds/${guildId}/channels`, { name: 'random' })).body.id;
  const send = async (channelId: string, content: string) =>
    (await api.post<{ id: string }>(`/channels/${channelId}/messages`, { content })).body.id;
  await send(general, 'before the keeper');
  keeper = await send(general, 'the lighthouse keeper waves');
  // Enough later messages that the hit is not on the channel's latest page.
  for (let i = 0; i < 150; i++) await send(general, `chatter ${i}`);
  await send(random, 'lighthouse tour on Sunday');
  await send(random, 'map: https://example.test/lighthouse');

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

/** The chat view shows the keeper's message marked and on screen, with its neighbours, not the latest page. */
async function expectOpenedAtKeeper(page: Page): Promise<void> {
  const hit = page.locator(`article[data-message-id="${keeper}"]`);
  await hit.and(page.locator('.highlighted[aria-current="true"]')).waitFor();
  await expect(hit.textContent()).resolves.toContain('the lighthouse keeper waves');
  await message(page, 'before the keeper').waitFor();
  await message(page, /^chatter 0$/).waitFor();
  await page.getByRole('button', { name: 'Jump to present ↓' }).waitFor();
  expect(await message(page, /^chatter 149$/).count()).toBe(0);
  // Scrolled to it: the message lies inside the visible part of the history.
  await waitFor(
    () =>
      hit.evaluate((el) => {
        const box = el.getBoundingClientRect();
        const view = el.closest('[role="log"]')?.getBoundingClientRect();
        return !!view && box.top >= view.top && box.bottom <= view.bottom;
      }),
    'the opened message is scrolled into view',
  );
}

describe('message search in the web client', () => {
  test('searches the guild, filters, and jumps to a result in the channel history', async () => {
    const page = alice.page;
    await page.goto(`/channels/${guildId}/${random}`);
    await page.getByRole('heading', { name: 'random', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Search this guild' }).click();

    await search(page, 'lighthouse');
    await seeText(page, '3 results');
    expect(await results(page).count()).toBe(3);
    // Newest first, with the channel named.
    await expect(results(page).first().textContent()).resolves.toContain('lighthouse');
    await expect(results(page).last().textContent()).resolves.toContain('#general');

    await search(page, 'lighthouse in:random has:link');
    await seeText(page, '1 result');
    expect(await results(page).count()).toBe(1);
    await expect(results(page).first().textContent()).resolves.toContain('https://example.test/lighthouse');

    await search(page, 'from:nobody lighthouse');
    await seeText(page, 'Not understood: from:nobody');

    await search(page, '"lighthouse keeper" from:alice');
    await seeText(page, '1 result');
    await results(page).first().getByRole('button').click();

    // The channel opens in the chat view at the hit (Discord's message link), far back in its history.
    await page.waitForURL(new RegExp(`/channels/${guildId}/${general}/${keeper}$`));
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();
    await expectOpenedAtKeeper(page);
    // The search results stay, the opened one marked.
    await results(page).first().and(page.locator('[aria-current="true"]')).waitFor();

    // Scrolling down loads the newer pages until the present, then the jump button goes.
    const log = page.getByRole('log', { name: 'Messages in #general' });
    await waitFor(async () => {
      await log.evaluate((el) => {
        el.scrollTop = el.scrollHeight;
      });
      return message(page, /^chatter 149$/).isVisible();
    }, 'scrolling down reached the latest message');
    await page.getByRole('button', { name: 'Jump to present ↓' }).waitFor({ state: 'detached' });

    // A message link opened afresh (a reload) lands on the same message.
    await page.goto(`/channels/${guildId}/${general}/${keeper}`);
    await expectOpenedAtKeeper(page);
    await page.getByRole('button', { name: 'Jump to present ↓' }).click();
    await message(page, /^chatter 149$/).waitFor();
    expect(await message(page, 'before the keeper').count()).toBe(0);
    // Nothing threw in the page (an effect returning Chromium's scroll promise once unmounted the app).
    expect(pageErrors).toEqual([]);
  });
});
