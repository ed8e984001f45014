import type { Browser } from 'playwright-core';
import { type Account, Api, GatewayClient, TrackedClients } from '../support/clients';
import { startServer, tempDir, type ServerProcess } from '../e2e/harness';
import { launchBrowser, openPerson, requireBrowserSetup, type Person } from './browser';

// The member pane in real headless Chromium: it renders from GUILD_MEMBER_LIST_UPDATE (a subscription to the rows
// in view), updates live as a member comes online, and reaches the end of a long list by scrolling.
jest.setTimeout(180_000);

const MEMBERS = 150;

let server: ServerProcess;
let dir: { path: string; remove: () => void };
let browser: Browser;
let alice: Person;
let owner: Account;
const members: Account[] = [];
const clients = new TrackedClients();
let guild: { id: string; general: string };

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-member-list-');
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
  });
  const api = new Api(server.url);
  owner = await api.register('alice');
  for (let i = 0; i < MEMBERS; i++) members.push(await api.register('m'));
  guild = await api.guild(owner, members);
  browser = await launchBrowser();
  alice = await openPerson(browser, server.url, { width: 1440, height: 900 });
  await alice.page.addInitScript((token: string) => localStorage.setItem('parley.token', token), owner.token);
});

afterAll(async () => {
  clients.closeAll();
  await browser?.close();
  await server?.stop();
  dir?.remove();
});

describe('member list pane', () => {
  test('renders the rows in view, updates live, and scrolls to the end of a long list', async () => {
    const page = alice.page;
    await page.goto(`/channels/${guild.id}/${guild.general}`);
    const pane = page.getByRole('complementary', { name: 'Members' });
    const online = pane.getByRole('region', { name: 'Online members' });
    const offline = pane.getByRole('region', { name: 'Offline members' });
    await online.getByRole('button', { name: /alice/ }).waitFor();
    await offline.getByRole('heading', { name: `Offline — ${MEMBERS}` }).waitFor();
    // Virtualised: far fewer rows in the page than members.
    const rendered = await pane.getByRole('button').count();
    expect(rendered).toBeLessThan(MEMBERS);

    // A member (the first by name) comes online: the pane moves them live, without a reload.
    const first = [...members].sort((a, b) => (a.user.username < b.user.username ? -1 : 1))[0];
    clients.track(await GatewayClient.ready(server.url, first.token));
    await online.getByRole('button', { name: new RegExp(first.user.username) }).waitFor();
    await online.getByRole('heading', { name: 'Online — 2' }).waitFor();

    // The last member by name is far down: scrolling there subscribes to those rows and shows them.
    const last = [...members].sort((a, b) => (a.user.username < b.user.username ? -1 : 1)).at(-1)!;
    await expectHidden(offline.getByRole('button', { name: new RegExp(`^${last.user.username}`) }));
    await pane.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await offline.getByRole('button', { name: new RegExp(last.user.username) }).waitFor();
  });

  test("shows names in their highest coloured role's colour, in the chat and in the pane", async () => {
    const page = alice.page;
    const api = new Api(server.url);
    const painted = members[0];
    const pink = await api.ok<{ id: string }>('POST', `/guilds/${guild.id}/roles`, owner.token, {
      name: 'pink',
      color: 0xe91e63,
    });
    await api.ok('PUT', `/guilds/${guild.id}/members/${painted.user.id}/roles/${pink.id}`, owner.token);
    const sent = await api.send(painted, guild.general, 'in colour');
    await api.send(members[1], guild.general, 'no colour');

    await page.goto(`/channels/${guild.id}/${guild.general}`);
    const log = page.getByRole('log');
    await log.getByText('in colour').waitFor();
    const author = (text: string) =>
      log.locator('article', { hasText: text }).locator('.author').evaluate(textColor);
    expect(await author(sent.content)).toBe('rgb(233, 30, 99)');
    expect(await author('no colour')).not.toBe('rgb(233, 30, 99)');

    clients.track(await GatewayClient.ready(server.url, painted.token));
    const row = page
      .getByRole('complementary', { name: 'Members' })
      .getByRole('region', { name: 'Online members' })
      .getByRole('button', { name: new RegExp(painted.user.username) });
    await row.waitFor();
    expect(await row.locator('.member-name').evaluate(textColor)).toBe('rgb(233, 30, 99)');
  });
});

/** An element's computed text colour; runs in the page (passed to `evaluate` whole, so it names nothing outside). */
function textColor(el: unknown): string {
  return (globalThis as unknown as { getComputedStyle(e: unknown): { color: string } }).getComputedStyle(el)
    .color;
}

async function expectHidden(locator: { count(): Promise<number> }): Promise<void> {
  expect(await locator.count()).toBe(0);
}
