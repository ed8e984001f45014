import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { Client, startServer, tempDir, type ServerProcess, waitFor } from '../e2e/harness';
import {
  focused,
  launchBrowser,
  message,
  openPerson,
  requireBrowserSetup,
  seeText,
  thirdParty,
  type InPage,
  type InPageImage,
  type Person,
} from './browser';

// Two people in real headless Chromium against the compiled monolith: Alice on a 1440 px desktop, Bob on a
// 375 px phone. The steps build on each other, in order.

const ROOT = join(__dirname, '../..');
const SHOTS = join(ROOT, '.tmp/screenshots');

let server: ServerProcess;
let dir: { path: string; remove: () => void };
let browser: Browser;
let alice: Person;
let bob: Person;
let inviteLink = '';
let guildId = '';

const composer = (page: Page) => page.getByRole('textbox', { name: /^Message/ });

async function send(page: Page, text: string): Promise<void> {
  await composer(page).fill(text);
  await composer(page).press('Enter');
  await message(page, text).first().waitFor();
}

async function token(page: Page): Promise<string> {
  return page.evaluate<string>("localStorage.getItem('parley.token')");
}

async function openNavigation(page: Page): Promise<void> {
  // The phone layout keeps guilds and channels in a drawer.
  const toggle = page.getByRole('button', { name: 'Open navigation' });
  if ((await toggle.isVisible()) && (await toggle.getAttribute('aria-expanded')) !== 'true')
    await toggle.click();
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-');
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
  });
  browser = await launchBrowser();
  alice = await openPerson(browser, server.url, { width: 1440, height: 900 });
  bob = await openPerson(browser, server.url, { width: 375, height: 812 }, true);
  mkdirSync(SHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  dir?.remove();
});

describe('web client in a real browser', () => {
  test('the monolith serves the app at / and on client routes, and leaves the API alone', async () => {
    for (const path of ['/', '/login', '/invite/some-code', '/channels/@me']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    }
    const api = await fetch(`${server.url}/api/v1/does-not-exist`);
    expect(api.status).toBe(404);
    expect(await api.json()).toMatchObject({ code: expect.any(Number) });
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`)).headers.get('content-type')).toContain('text/plain');
  });

  test('Alice registers, creates a guild and an invite', async () => {
    const page = alice.page;
    await page.goto('/');
    await page.getByRole('button', { name: 'Create one' }).click();
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Email').fill('alice@example.test');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Register', exact: true }).click();

    await page.getByRole('button', { name: 'New guild' }).click();
    await page.getByLabel('Guild name').fill('Book club');
    await page.getByRole('button', { name: 'Create guild', exact: true }).click();
    await page.getByRole('heading', { name: 'general' }).waitFor();
    guildId = /\/channels\/(\d+)\//.exec(page.url())![1];
    // A new channel: the composer has focus, ready to type.
    await waitFor(async () => (await focused(page)).tag === 'TEXTAREA', 'the composer has focus');

    await page.getByRole('button', { name: 'Invite people' }).click();
    const link = page.getByLabel('Invite link');
    await waitFor(async () => (await link.inputValue()).includes('/invite/'), 'the invite link is shown');
    inviteLink = await link.inputValue();
    expect(inviteLink).toMatch(new RegExp(`^${server.url}/invite/[A-Za-z0-9]+$`));
    await page.getByRole('button', { name: 'Done' }).click();
    // Focus is back on the button that opened the dialog.
    expect((await focused(page)).label).toBe('Invite people');
    await send(page, 'Welcome to the book club!');
  });

  test('Bob opens the invite link on his phone, registers there and lands in the guild', async () => {
    const page = bob.page;
    await page.goto(inviteLink.replace(server.url, ''));
    await seeText(page, 'You have been invited to join');
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Email').fill('bob@example.test');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Register', exact: true }).click();
    await page.waitForURL(new RegExp(`/channels/${guildId}/\\d+$`));
    await message(page, 'Welcome to the book club!').waitFor();
    // Alice sees Bob join the member list, live.
    await alice.page.getByRole('complementary', { name: 'Members' }).getByText('bob').waitFor();
  });

  test('they exchange messages, see each other typing and reacting, live', async () => {
    // Bob types: Alice sees it.
    await composer(bob.page).fill('Has everyone fin');
    await seeText(alice.page, 'bob is typing…');
    await composer(bob.page).fill('Has everyone finished chapter one?');
    await composer(bob.page).press('Enter');
    await message(alice.page, 'Has everyone finished chapter one?').waitFor();
    // Bob's message arrived: the indicator goes.
    await alice.page.getByText('bob is typing…').waitFor({ state: 'hidden' });

    // Alice answers twice; the second continues her group (no second header).
    await send(alice.page, 'Yes!');
    await send(alice.page, 'Loved the ending.');
    await message(bob.page, 'Loved the ending.').waitFor();
    expect(await message(bob.page, 'Loved the ending.').getAttribute('class')).toContain('grouped');
    expect(await message(bob.page, 'Yes!').getAttribute('class')).not.toContain('grouped');

    // Shift+Enter makes a new line, Enter sends.
    await composer(alice.page).fill('Line one');
    await composer(alice.page).press('Shift+Enter');
    await composer(alice.page).pressSequentially('line two');
    expect(await composer(alice.page).inputValue()).toBe('Line one\nline two');
    await composer(alice.page).press('Enter');
    await message(bob.page, /Line one\s+line two/).waitFor();

    // Alice reacts to Bob's message; Bob sees it and adds his own.
    const bobsOnAlice = message(alice.page, 'Has everyone finished chapter one?');
    await bobsOnAlice.hover();
    await bobsOnAlice.getByRole('button', { name: 'Add reaction' }).click();
    await alice.page
      .getByRole('dialog', { name: 'Pick a reaction' })
      .getByRole('button', { name: '👍', exact: true })
      .click();
    const onBob = message(bob.page, 'Has everyone finished chapter one?');
    await onBob.getByRole('button', { name: '👍 1' }).waitFor();
    expect(await onBob.getByRole('button', { name: '👍 1' }).getAttribute('aria-pressed')).toBe('false');
    await onBob.getByRole('button', { name: '👍 1' }).click();
    await bobsOnAlice.getByRole('button', { name: '👍 2' }).waitFor();
    expect(await onBob.getByRole('button', { name: '👍 2' }).getAttribute('aria-pressed')).toBe('true');
  });

  test('a mention is picked from suggestions and highlighted for the person named', async () => {
    await composer(bob.page).fill('Thanks @al');
    const option = bob.page.getByRole('option', { name: /alice/ });
    await option.waitFor();
    await composer(bob.page).press('Enter'); // picks the suggestion, does not send
    expect(await composer(bob.page).inputValue()).toBe('Thanks @alice ');
    await composer(bob.page).pressSequentially('for hosting');
    await composer(bob.page).press('Enter');
    const onAlice = message(alice.page, 'for hosting');
    await onAlice.waitFor();
    expect(await onAlice.getAttribute('class')).toContain('mentioned');
    await onAlice.locator('.mention-me', { hasText: '@alice' }).waitFor();
  });

  test('edits and deletions show up live', async () => {
    const mine = message(alice.page, 'Loved the ending.');
    await mine.hover();
    await mine.getByRole('button', { name: 'Edit message' }).click();
    const box = alice.page.getByRole('textbox', { name: 'Edit message' });
    await box.fill('Loved the ending, truly.');
    await box.press('Enter');
    const onBob = message(bob.page, 'Loved the ending, truly.');
    await onBob.waitFor();
    await onBob.getByText('(edited)').waitFor();

    const doomed = message(alice.page, 'Yes!');
    await doomed.hover();
    await doomed.getByRole('button', { name: 'Delete message' }).click();
    await alice.page
      .getByRole('dialog', { name: 'Delete message' })
      .getByRole('button', { name: 'Delete' })
      .click();
    await message(bob.page, 'Yes!').waitFor({ state: 'detached' });
    await message(alice.page, 'Yes!').waitFor({ state: 'detached' });
  });

  test('a picture goes up with a message and shows as a preview on the other side', async () => {
    await bob.page
      .getByLabel('Attach files')
      .setInputFiles({ name: 'cover.png', mimeType: 'image/png', buffer: png(64, 48) });
    await bob.page.getByRole('list', { name: 'Files to send' }).getByText('cover.png').waitFor();
    await composer(bob.page).fill('The cover');
    await composer(bob.page).press('Enter');
    const onAlice = message(alice.page, 'The cover');
    await onAlice.waitFor();
    const img = onAlice.getByRole('img', { name: 'cover.png' });
    await img.waitFor();
    // Served by the media proxy on the same origin, resized on request, and actually decoded by the browser.
    expect(await img.getAttribute('src')).toMatch(/^\/media\/attachments\/\d+\/\d+\/cover\.png\?.*width=400/);
    // A function, not a string: a string is compiled in the page with eval, which its CSP (script-src 'self') blocks.
    await alice.page.waitForFunction(() =>
      [
        ...(globalThis as unknown as InPage).document.querySelectorAll<InPageImage>('img[alt="cover.png"]'),
      ].some((i) => i.complete && i.naturalWidth > 0),
    );
    const served = await fetch(`${server.url}${await img.getAttribute('src')}`);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toMatch(/^image\//);
  });

  test('going offline and back misses nothing; a send that failed offline is retried', async () => {
    const gatewaySockets = () => bob.sockets.filter((ws) => ws.url().includes('/gateway/'));
    const live = gatewaySockets().filter((ws) => !ws.isClosed());
    expect(live).toHaveLength(1);
    const resumedBefore = await metric('parley_gateway_resumes_total', 'outcome="resumed"');

    await bob.context.setOffline(true);
    // Chromium's offline emulation leaves open WebSockets open but fires "offline": the client drops its
    // transport itself (as it does when a real network goes away), so the server keeps the session
    // resumable and queues what Bob misses. Checked here: the socket really closes.
    await bob.page.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor();
    await waitFor(() => live[0].isClosed(), 'the gateway socket closed');

    await send(alice.page, 'Missed one');
    await send(alice.page, 'Missed two');
    await send(alice.page, 'Missed three');
    const edited = message(alice.page, 'Missed two');
    await edited.hover();
    await edited.getByRole('button', { name: 'Edit message' }).click();
    await alice.page.getByRole('textbox', { name: 'Edit message' }).fill('Missed two (fixed)');
    await alice.page.getByRole('textbox', { name: 'Edit message' }).press('Enter');
    await message(alice.page, 'Missed two (fixed)').waitFor();

    // Bob writes while offline: shown at once, then marked as not sent, with a retry.
    await composer(bob.page).fill('Sent from the tunnel');
    await composer(bob.page).press('Enter');
    const failed = message(bob.page, 'Sent from the tunnel');
    await failed.getByText(/Not sent/).waitFor();
    expect(await message(alice.page, 'Sent from the tunnel').count()).toBe(0);

    await bob.context.setOffline(false);
    await bob.page.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor({ state: 'hidden' });
    for (const text of ['Missed one', 'Missed two (fixed)', 'Missed three']) {
      await message(bob.page, text).waitFor();
      expect(await message(bob.page, text).count()).toBe(1);
    }
    const order = await bob.page.locator('article.message .content').allTextContents();
    const missed = order.filter((t) => t.startsWith('Missed'));
    expect(missed).toEqual(['Missed one', 'Missed two (fixed) (edited)', 'Missed three']);
    expect(await metric('parley_gateway_resumes_total', 'outcome="resumed"')).toBeGreaterThan(resumedBefore);
    // A new WebSocket carried the resumed session.
    expect(gatewaySockets().filter((ws) => !ws.isClosed())).toHaveLength(1);
    expect(gatewaySockets().length).toBeGreaterThan(1);

    await failed.getByRole('button', { name: 'Retry' }).click();
    await message(alice.page, 'Sent from the tunnel').waitFor();
    await failed.getByText(/Not sent/).waitFor({ state: 'detached' });
    expect(await message(bob.page, 'Sent from the tunnel').count()).toBe(1);
  });

  test('a moderator makes a channel in settings; history loads on scroll; unread markers follow read states', async () => {
    const page = alice.page;
    await page.getByRole('button', { name: 'Guild settings' }).click();
    const settings = page.getByRole('dialog', { name: 'Book club settings' });
    await settings.getByRole('tab', { name: 'Channels' }).click();
    await settings.getByLabel('New channel name').fill('archive');
    await settings.getByRole('button', { name: 'Create channel' }).click();
    await settings.getByLabel('Channel name').nth(1).waitFor();
    // Bots (issue 21): create a bot application, see its token once, add it to the guild by its id.
    await settings.getByRole('tab', { name: 'Bots' }).click();
    await settings.getByLabel('Name', { exact: true }).fill('Reading Bot');
    await settings.getByLabel('Message content').check();
    await settings.getByRole('button', { name: 'Create bot' }).click();
    await settings.getByText('Its token, shown only now').waitFor();
    expect(await settings.locator('code.secret').innerText()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await settings.getByRole('button', { name: 'Add bot' }).click();
    await settings.getByText('reading_bot joined Book club.').waitFor();
    await settings.getByRole('tab', { name: 'Overview' }).click();
    await settings.getByLabel('Guild name').fill('Book club 📚');
    await settings.getByRole('button', { name: 'Save' }).click();
    await page.keyboard.press('Escape');
    await settings.waitFor({ state: 'hidden' });
    // The rename reaches Bob live.
    await openNavigation(bob.page);
    await bob.page.getByRole('heading', { name: 'Book club 📚' }).waitFor();
    await bob.page.keyboard.press('Escape');

    // 120 older messages, sent over the API.
    const archive = page.getByRole('link', { name: /^archive/ });
    await archive.waitFor();
    const api = new Client(server.url);
    api.token = await token(page);
    const channels = (await api.get(`/guilds/${guildId}/channels`)).body as { id: string; name: string }[];
    const archiveId = channels.find((c) => c.name === 'archive')!.id;
    for (let i = 1; i <= 120; i++) {
      const res = await api.post(`/channels/${archiveId}/messages`, { content: `Archive entry ${i}` });
      expect(res.status).toBe(200);
    }

    // Bob has not read them: the channel shows as unread for him.
    await openNavigation(bob.page);
    const bobArchive = bob.page.getByRole('link', { name: 'archive, unread' });
    await bobArchive.waitFor();

    await archive.click();
    await message(page, /^Archive entry 120$/).waitFor();
    // Only the newest pages are loaded; scrolling up (the mouse wheel, as a reader would) loads the rest.
    expect(await message(page, /^Archive entry 1$/).count()).toBe(0);
    const log = page.getByRole('log', { name: 'Messages in #archive' });
    await log.hover();
    for (let i = 0; i < 40 && (await message(page, /^Archive entry 1$/).count()) === 0; i++) {
      await page.mouse.wheel(0, -3000);
      await page.waitForTimeout(150);
    }
    await message(page, /^Archive entry 1$/).waitFor();
    await seeText(page, 'This is the start of the conversation.');
    const entries = (await page.locator('article.message .content').allTextContents()).filter((t) =>
      t.startsWith('Archive entry'),
    );
    expect(entries).toHaveLength(120);
    expect(entries[0]).toBe('Archive entry 1');
    expect(entries[119]).toBe('Archive entry 120');

    // Bob opens it (read up to the newest), then goes back to #general.
    await bobArchive.click();
    await message(bob.page, /^Archive entry 120$/).waitFor();
    await openNavigation(bob.page);
    await bob.page.getByRole('link', { name: 'archive', exact: true }).waitFor();
    await bob.page.getByRole('link', { name: 'general', exact: true }).click();

    // Alice mentions him in #archive: unread again, with a mention badge; opening it shows where "new" starts.
    await composer(page).fill('@bob chapter two tonight?');
    await composer(page).press('Enter');
    await message(page, 'chapter two tonight?').waitFor();
    await openNavigation(bob.page);
    const unread = bob.page.getByRole('link', { name: /^archive, unread, 1 mentions$/ });
    await unread.waitFor();
    await unread.click();
    const marked = message(bob.page, 'chapter two tonight?');
    await marked.waitFor();
    expect(await marked.getAttribute('class')).toContain('mentioned');
    await bob.page.getByRole('separator', { name: 'New messages' }).waitFor();
    const order = await bob.page.locator('.new-divider, article.message .content').allTextContents();
    expect(order.slice(-2)).toEqual(['New', '@bob chapter two tonight?']);
    await openNavigation(bob.page);
    await bob.page.getByRole('link', { name: 'archive', exact: true }).waitFor();
    await bob.page.getByRole('link', { name: 'general', exact: true }).click();
    await page.getByRole('link', { name: 'general', exact: true }).click();
  });

  test('presence dots follow log out and log in', async () => {
    const members = alice.page.getByRole('complementary', { name: 'Members' });
    const bobRow = members.getByRole('button', { name: /bob/ });
    await bobRow.waitFor();
    await openNavigation(bob.page);
    await bob.page.getByRole('button', { name: 'Log out' }).click();
    await bob.page.getByRole('button', { name: 'Log in', exact: true }).waitFor();
    await members.getByRole('region', { name: 'Offline members' }).getByText('bob').waitFor();
    expect(await bobRow.getByRole('img').getAttribute('aria-label')).toBe('Offline');

    await bob.page.getByLabel('Username').fill('bob');
    await bob.page.getByLabel('Password').fill('correct horse battery');
    await bob.page.getByRole('button', { name: 'Log in', exact: true }).click();
    await members.getByRole('region', { name: 'Online members' }).getByText('bob').waitFor();
    expect(await bobRow.getByRole('img').getAttribute('aria-label')).toBe('Online');
  });

  test('direct messages: Alice writes to Bob from the member list', async () => {
    await alice.page
      .getByRole('complementary', { name: 'Members' })
      .getByRole('button', { name: /bob/ })
      .click();
    await alice.page
      .getByRole('dialog', { name: 'bob' })
      .getByRole('button', { name: 'Send message' })
      .click();
    await alice.page.waitForURL(/\/channels\/@me\/\d+$/);
    await send(alice.page, 'Psst, next book is yours to pick.');

    const page = bob.page;
    await page.goto('/channels/@me');
    await page.getByRole('button', { name: 'Open navigation' }).click();
    const dm = page.getByRole('navigation', { name: 'Direct messages' }).getByRole('link', { name: /alice/ });
    await dm.click();
    await message(page, 'Psst, next book is yours to pick.').waitFor();
    await send(page, 'Deal.');
    await message(alice.page, 'Deal.').waitFor();
  });

  test('screenshots at 1440 px and 375 px, and nothing fetched from third parties', async () => {
    // Client-side navigation (no reload): what Alice knows of Bob's presence came live over the gateway.
    await alice.page
      .getByRole('navigation', { name: 'Guilds' })
      .getByRole('link', { name: /^Book club/ })
      .click();
    await message(alice.page, 'for hosting').waitFor();
    await openNavigation(bob.page);
    await bob.page
      .getByRole('navigation', { name: 'Guilds' })
      .getByRole('link', { name: /^Book club/ })
      .click();
    await message(bob.page, 'for hosting').waitFor();
    await alice.page
      .getByRole('complementary', { name: 'Members' })
      .getByRole('region', { name: 'Online members' })
      .getByText('bob')
      .waitFor();
    await alice.page.mouse.move(0, 0);
    const desktop = join(SHOTS, 'desktop-1440.png');
    const phone = join(SHOTS, 'phone-375.png');
    await alice.page.screenshot({ path: desktop });
    await bob.page.screenshot({ path: phone });
    if (process.env.PARLEY_UPDATE_SCREENSHOTS === '1') {
      const docs = join(ROOT, 'docs/screenshots');
      mkdirSync(docs, { recursive: true });
      copyFileSync(desktop, join(docs, 'desktop-1440.png'));
      copyFileSync(phone, join(docs, 'phone-375.png'));
    }
    // The phone layout does not scroll sideways.
    expect(await bob.page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    expect(thirdParty).toEqual([]);
  });

  test('keyboard: arrows move through messages, Escape closes dialogs and focus goes back', async () => {
    const page = alice.page;
    await page.goto(`/channels/${guildId}`);
    const log = page.getByRole('log');
    await message(page, 'Welcome to the book club!').waitFor();
    await log.focus();
    await page.keyboard.press('ArrowUp');
    expect((await focused(page)).className).toContain('message');
    await page.keyboard.press('Home');
    expect((await focused(page)).text).toContain('Welcome to the book club!');
    await page.keyboard.press('Tab'); // into the focused message's actions
    expect((await focused(page)).label).toBe('Add reaction');

    await page.getByRole('button', { name: 'New guild' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'New guild' }).waitFor();
    expect((await focused(page)).tag).toBe('INPUT');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog', { name: 'New guild' }).waitFor({ state: 'hidden' });
    expect((await focused(page)).label).toBe('New guild');
  });
});

/** A small valid PNG (solid colour), made here rather than shipped. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0x5b)]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: height }, () => row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', pixels),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
