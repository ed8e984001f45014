import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { Client, startServer, tempDir, type ServerProcess } from '../e2e/harness';
import {
  focused,
  launchBrowser,
  message,
  openPerson,
  requireBrowserSetup,
  seeText,
  type InPage,
  type Person,
} from './browser';

// Issue 18's web client in real headless Chromium against the compiled monolith: Alice (a moderator, in the
// browser) and Bob (over REST). Rate limits are on, with a small send bucket, so sends really get 429s.
jest.setTimeout(180_000);

let server: ServerProcess;
let dir: { path: string; remove: () => void };
let browser: Browser;
let alice: Person;
const bob = { api: null as unknown as Client, id: '' };
let aliceId = '';
let aliceApi: Client;
let guildId = '';
let general = '';
let random = '';
let busy = '';
const pageErrors: string[] = [];

const composer = (page: Page) => page.getByRole('textbox', { name: /^Message/ });
const channelLink = (page: Page, name: string) =>
  page
    .getByRole('navigation', { name: 'Harbour channels' })
    .getByRole('link', { name: new RegExp(`^${name}`) });

async function openChannel(page: Page, name: string): Promise<void> {
  await channelLink(page, name).click();
  await page.getByRole('heading', { name, exact: true }).waitFor();
}

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-messages-');
  const defaults = JSON.parse(readFileSync(join(__dirname, '../../config/default.json'), 'utf8')) as {
    rate_limits: { routes: Record<string, { limit: number; window_ms: number }> };
  };
  const routes = { ...defaults.rate_limits.routes, 'messages.create': { limit: 4, window_ms: 1500 } };
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ROUTES: JSON.stringify(routes),
  });
  const api = new Client(server.url);
  aliceApi = api;
  aliceId = (await api.register('alice')).id;
  const guild = await api.post<{ id: string; channels: { id: string; type: number }[] }>('/guilds', {
    name: 'Harbour',
  });
  guildId = guild.body.id;
  general = guild.body.channels.find((c) => c.type === 0)?.id ?? '';
  random = (await api.post<{ id: string }>(`/guilds/${guildId}/channels`, { name: 'random' })).body.id;
  busy = (await api.post<{ id: string }>(`/guilds/${guildId}/channels`, { name: 'busy' })).body.id;
  const invite = await api.post<{ code: string }>(`/channels/${general}/invites`, {});
  bob.api = new Client(server.url);
  bob.id = (await bob.api.register('bob')).id;
  await bob.api.post(`/invites/${invite.body.code}`);
  const send = async (content: string) =>
    expect((await bob.api.post(`/channels/${general}/messages`, { content })).status).toBe(200);
  await send('short one');
  await send(
    '**bold** __under__ ~~strike~~ *slanted* ||secret|| `a<b>` <script>window.hacked=1</script> ' +
      '<img src=x onerror="window.hacked=2"> [click](javascript:window.hacked=3) https://example.test/ok',
  );
  await send(
    `A long message.\n${'All along the watchtower the princes kept the view. '.repeat(14)}\nThe end.`,
  );

  browser = await launchBrowser();
  alice = await openPerson(browser, server.url, { width: 1440, height: 900 });
  alice.page.on('pageerror', (err) => pageErrors.push(err.message));
  await alice.page.goto('/login');
  await alice.page.getByLabel('Username').fill('alice');
  await alice.page.getByLabel('Password').fill('correct horse battery');
  await alice.page.getByRole('button', { name: 'Log in' }).click();
  await alice.page.waitForURL(/\/channels\//);
  await alice.page.goto(`/channels/${guildId}/${general}`);
  await alice.page.getByRole('heading', { name: 'general', exact: true }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  dir?.remove();
});

describe('messages in the web client', () => {
  test('markdown renders, hostile HTML stays text, nothing runs', async () => {
    const page = alice.page;
    const m = message(page, 'bold');
    await m.waitFor();
    const content = m.locator('.content');
    await content.locator('strong', { hasText: 'bold' }).waitFor();
    await content.locator('u', { hasText: 'under' }).waitFor();
    await content.locator('s', { hasText: 'strike' }).waitFor();
    await content.locator('em', { hasText: 'slanted' }).waitFor();
    await content.locator('code', { hasText: 'a<b>' }).waitFor();
    expect(await content.locator('script, img, iframe').count()).toBe(0);
    expect(await content.textContent()).toContain('<script>window.hacked=1</script>');
    // Only the http(s) link is a link.
    expect(await content.locator('a').count()).toBe(1);
    expect(await content.locator('a').getAttribute('href')).toBe('https://example.test/ok');
    const spoiler = content.getByRole('button', { name: 'Spoiler, reveal' });
    await spoiler.click();
    await content.locator('.spoiler-shown', { hasText: 'secret' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { hacked?: number }).hacked)).toBeUndefined();
  });

  test('the reaction picker is fully visible and clickable on short and long messages', async () => {
    const page = alice.page;
    for (const [text, emoji, search] of [
      ['short one', '🎉', 'party'],
      ['The end.', '🐙', 'octopus'],
    ] as const) {
      const m = message(page, text);
      await m.scrollIntoViewIfNeeded();
      await m.hover();
      await m.getByRole('button', { name: 'Add reaction' }).click();
      const picker = page.getByRole('dialog', { name: 'Pick a reaction' });
      await picker.waitFor();
      const box = await picker.boundingBox();
      const view = page.viewportSize();
      expect(box && view).toBeTruthy();
      expect(box!.x).toBeGreaterThanOrEqual(0);
      expect(box!.y).toBeGreaterThanOrEqual(0);
      expect(box!.x + box!.width).toBeLessThanOrEqual(view!.width);
      expect(box!.y + box!.height).toBeLessThanOrEqual(view!.height);
      await picker.getByRole('searchbox', { name: 'Search emoji' }).fill(search);
      // Playwright clicks only what is really on top at that point: a clipped or covered picker fails here.
      await picker
        .getByRole('button', { name: new RegExp(`^${emoji} `) })
        .first()
        .click();
      await m.getByRole('button', { name: `${emoji} 1` }).waitFor();
    }
    // Recently used emoji come first next time.
    const m = message(page, 'short one');
    await m.hover();
    await m.getByRole('button', { name: 'Add reaction' }).click();
    const recent = page.getByRole('dialog', { name: 'Pick a reaction' }).getByRole('group').first();
    await expect(recent.getByRole('button').first().textContent()).resolves.toBe('🐙');
    await page.keyboard.press('Escape');
  });

  test('reply with the original shown, jump to it; Up-arrow edits the last message; big emoji', async () => {
    const page = alice.page;
    const original = message(page, 'short one');
    await original.hover();
    await original.getByRole('button', { name: 'Reply' }).click();
    await seeText(page, 'Replying to');
    await composer(page).fill('hello back');
    await composer(page).press('Enter');
    const reply = message(page, 'hello back');
    const header = reply.getByRole('button', { name: /^Replying to bob: short one/ });
    await header.waitFor();
    await reply.and(page.locator('article:not(.pending-sending)')).waitFor();
    // The server has it as a reply too.
    const stored = await bob.api.get<{ content: string; referenced_message: { content: string } | null }[]>(
      `/channels/${general}/messages?limit=1`,
    );
    expect(stored.body[0].referenced_message?.content).toBe('short one');
    await header.click();
    // The header itself holds the text and has focus right after the click: wait for the original's article.
    await page.waitForFunction(() => {
      const active = (globalThis as unknown as InPage).document.activeElement;
      return (
        (String(active?.className).includes('message') && active?.textContent?.includes('short one')) ?? false
      );
    });
    expect((await focused(page)).className).toContain('message');

    await composer(page).focus();
    await composer(page).press('ArrowUp');
    const edit = page.getByRole('textbox', { name: 'Edit message' });
    await edit.waitFor();
    expect(await edit.inputValue()).toBe('hello back');
    await edit.fill('hello back, edited');
    await edit.press('Enter');
    await message(page, 'hello back, edited').locator('.edited').waitFor();

    await composer(page).fill('🎉🐙');
    await composer(page).press('Enter');
    await message(page, '🎉🐙').locator('.content.emoji-only').waitFor();
    const size = await message(page, '🎉🐙')
      .locator('.content')
      .evaluate(
        (el) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { fontSize: string } }).getComputedStyle(
            el,
          ).fontSize,
      );
    expect(parseFloat(size)).toBeGreaterThan(30);
  });

  test('a draft survives a channel switch; a picked mention then fast typing stays in order', async () => {
    const page = alice.page;
    await composer(page).fill('half-written thought');
    await openChannel(page, 'random');
    expect(await composer(page).inputValue()).toBe('');
    await openChannel(page, 'general');
    expect(await composer(page).inputValue()).toBe('half-written thought');
    await composer(page).fill('');

    await composer(page).pressSequentially('@bo');
    await page.getByRole('option', { name: /bob/ }).waitFor();
    await composer(page).press('Enter');
    await composer(page).pressSequentially('thanks a lot');
    expect(await composer(page).inputValue()).toBe('@bob thanks a lot');
    await composer(page).fill('');
  });

  test('placeholder contrast in the dark theme is at least 4.5:1', async () => {
    const ratio = await alice.page.evaluate(() => {
      type Styles = { color: string; backgroundColor: string };
      const g = globalThis as unknown as {
        document: { querySelector(s: string): unknown };
        getComputedStyle(el: unknown, pseudo?: string): Styles;
      };
      const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number);
      const lum = (c: string) => {
        const [r, gr, b] = rgb(c).map((v) => {
          const s = v / 255;
          return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * gr + 0.0722 * b;
      };
      const fg = g.getComputedStyle(g.document.querySelector('.composer textarea'), '::placeholder').color;
      const bg = g.getComputedStyle(g.document.querySelector('.composer')).backgroundColor;
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      return (a + 0.05) / (b + 0.05);
    });
    expect(ratio).toBeGreaterThanOrEqual(4.5);
  });

  test('rate-limited sends go out by themselves after retry_after, in order', async () => {
    const page = alice.page;
    await openChannel(page, 'busy');
    const texts = Array.from({ length: 7 }, (_, i) => `burst ${i}`);
    for (const text of texts) {
      await composer(page).fill(text);
      await composer(page).press('Enter');
    }
    // The bucket holds 4 per 1.5 s: the rest were refused with 429 and retried without anyone clicking Retry.
    await message(page, 'burst 6').and(page.locator('article:not(.pending-sending)')).waitFor();
    expect(await page.getByRole('button', { name: 'Retry' }).count()).toBe(0);
    const stored = await bob.api.get<{ content: string }[]>(`/channels/${busy}/messages?limit=10`);
    expect(stored.body.map((m) => m.content).reverse()).toEqual(texts);
  });

  test('your own message is read on the server: no unread channel after a reload', async () => {
    const page = alice.page;
    await openChannel(page, 'random');
    // This channel's ack (a debounced one of another channel may still be on its way).
    const acked = page.waitForResponse(
      (r) => r.url().includes(`/channels/${random}/messages/`) && r.url().endsWith('/ack') && r.ok(),
    );
    await composer(page).fill('my own words');
    await composer(page).press('Enter');
    await message(page, 'my own words').and(page.locator('article:not(.pending-sending)')).waitFor();
    await acked;
    await openChannel(page, 'general');
    await page.reload();
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();
    await expect(channelLink(page, 'random').getAttribute('class')).resolves.not.toContain('unread');
    const own = await aliceApi.get<{ id: string }[]>(`/channels/${random}/messages?limit=1`);
    const states =
      await aliceApi.get<{ channel_id: string; last_message_id: string }[]>('/users/@me/read-states');
    expect(states.body.find((r) => r.channel_id === random)?.last_message_id).toBe(own.body[0].id);
  });

  test('moderators select messages and delete them in bulk', async () => {
    const page = alice.page;
    await openChannel(page, 'busy');
    await page.getByRole('button', { name: 'Select messages' }).click();
    for (const text of ['burst 1', 'burst 2', 'burst 3']) {
      await message(page, text).getByRole('checkbox').check();
    }
    await seeText(page.getByRole('toolbar', { name: 'Moderation' }), '3 selected');
    const bulk = page.waitForRequest((r) => r.url().endsWith('/messages/bulk-delete'));
    await page.getByRole('button', { name: 'Delete selected' }).click();
    await page
      .getByRole('dialog', { name: 'Delete messages' })
      .getByRole('button', { name: 'Delete' })
      .click();
    await bulk;
    await message(page, 'burst 2').waitFor({ state: 'detached' });
    const stored = await bob.api.get<{ content: string }[]>(`/channels/${busy}/messages?limit=10`);
    expect(stored.body.map((m) => m.content).reverse()).toEqual(['burst 0', 'burst 4', 'burst 5', 'burst 6']);
  });

  test('a removed member is told why the guild went away', async () => {
    const page = alice.page;
    const other = await bob.api.post<{ id: string; channels: { id: string; type: number }[] }>('/guilds', {
      name: 'Bobland',
    });
    const channel = other.body.channels.find((c) => c.type === 0)?.id ?? '';
    const invite = await bob.api.post<{ code: string }>(`/channels/${channel}/invites`, {});
    await page.goto(`/invite/${invite.body.code}`);
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();
    await page.waitForURL(new RegExp(other.body.id));
    expect((await bob.api.delete(`/guilds/${other.body.id}/members/${aliceId}`)).status).toBe(204);
    await seeText(page.getByRole('alert'), 'You are no longer a member of Bobland');
    await page.getByRole('button', { name: 'Dismiss' }).click();
  });

  test('the last channel opens again after logging in', async () => {
    const page = alice.page;
    await page.goto(`/channels/${guildId}/${random}`);
    await page.getByRole('heading', { name: 'random', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(new RegExp(`/channels/${guildId}/${random}$`));
    await page.getByRole('heading', { name: 'random', exact: true }).waitFor();
    expect(pageErrors).toEqual([]);
  });
});
