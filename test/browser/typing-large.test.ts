import type { Browser } from 'playwright-core';
import { type Account, Api } from '../support/clients';
import { startServer, tempDir, type ServerProcess } from '../e2e/harness';
import { launchBrowser, openPerson, requireBrowserSetup, type Person } from './browser';

// Typing in a large guild in real headless Chromium: over `gateway.presence_large_threshold` members (2 here),
// TYPING_START reaches only sessions that asked for typing in the guild (docs/gateway.md, "Typing in large
// guilds"); the web client asks for the guild whose channel is open, so the indicator still shows there, and it
// names a typist the page has not loaded by the `member` the event carries.
jest.setTimeout(180_000);

let server: ServerProcess;
let dir: { path: string; remove: () => void };
let browser: Browser;
let alice: Person;
let bob: Account;
let carol: Account;
let api: Api;
let guild: { id: string; general: string };

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-typing-large-');
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
    PARLEY__GATEWAY__PRESENCE_LARGE_THRESHOLD: '2',
  });
  api = new Api(server.url);
  const owner = await api.register('alice');
  bob = await api.register('bob');
  carol = await api.register('carol');
  guild = await api.guild(owner, [bob, carol]); // 3 members: large
  browser = await launchBrowser();
  alice = await openPerson(browser, server.url, { width: 1280, height: 800 });
  await alice.page.addInitScript((token: string) => localStorage.setItem('parley.token', token), owner.token);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  dir?.remove();
});

describe('typing in a large guild', () => {
  test('the open channel shows who is typing (the client asked for typing in its guild)', async () => {
    const page = alice.page;
    await page.goto(`/channels/${guild.id}/${guild.general}`);
    // The member list arrived (alice online; offline members are not listed in a large guild): the client asked
    // for it and for typing in the same request, typing first.
    await page
      .getByRole('complementary', { name: 'Members' })
      .getByRole('region', { name: 'Online members' })
      .getByRole('button', { name: /alice/ })
      .waitFor();
    // Bob says something first, so the page knows his name (offline members of a large guild are not listed).
    await api.send(bob, guild.general, 'hello from bob');
    await page.getByText('hello from bob').waitFor();
    await api.ok('POST', `/channels/${guild.general}/typing`, bob.token);
    const indicator = page.getByText(`${bob.user.username} is typing…`);
    await indicator.waitFor();
  });

  test('names a member the page has not loaded, by the member TYPING_START carries (their nick)', async () => {
    const page = alice.page;
    await api.ok('PATCH', `/guilds/${guild.id}/members/@me`, carol.token, { nick: 'Caz' });
    // The page's member load (REST, at most 10,000 of a guild) is held unanswered, as in a guild past that cap
    // or while a long load runs: carol (offline, not in the member list, no message) is known to the page only
    // by the TYPING_START.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let asked!: () => void;
    const membersAsked = new Promise<void>((resolve) => (asked = resolve));
    const membersPath = `/api/v1/guilds/${guild.id}/members`;
    const isMembers = (url: URL) => url.pathname === membersPath;
    let answered: Promise<void> = Promise.resolve();
    await page.route(isMembers, (route) => {
      asked();
      answered = released.then(() => route.continue());
      return answered;
    });
    try {
      await page.reload();
      await membersAsked;
      await page
        .getByRole('complementary', { name: 'Members' })
        .getByRole('region', { name: 'Online members' })
        .getByRole('button', { name: /alice/ })
        .waitFor();
      await api.ok('POST', `/channels/${guild.general}/typing`, carol.token);
      await page.getByText('Caz is typing…').waitFor();
    } finally {
      // Answered before the route goes, so the page gets its members and the handler is not cut off.
      release();
      await answered;
      await page.unroute(isMembers);
    }
  });
});
