import type { Browser, CDPSession } from 'playwright-core';
import { Client, startServer, tempDir, type ServerProcess } from '../e2e/harness';
import { waitFor } from '../support/wait';
import { launchBrowser, openPerson, requireBrowserSetup, type Person } from './browser';

// The web client's service worker in real headless Chromium against the compiled monolith: it registers at the
// site root (scope covers the app), and a push delivered to it shows the notification for the right channel.
// Chromium cannot reach a real push service here, so the push is delivered through the DevTools protocol
// (ServiceWorker.deliverPushMessage), which runs the worker's own push handler.
jest.setTimeout(120_000);

/** The page's service worker API (the tests' TypeScript has Node's navigator, not the DOM's). */
interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  data: unknown;
}
interface PageNavigator {
  serviceWorker: {
    ready: Promise<{
      scope: string;
      active: { scriptURL: string } | null;
      getNotifications(): Promise<ShownNotification[]>;
    }>;
  };
}

let server: ServerProcess;
let dir: { path: string; remove: () => void };
let browser: Browser;
let bob: Person;
let guildId = '';
let general = '';

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-push-');
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
  });
  const owner = new Client(server.url);
  const member = new Client(server.url);
  await owner.register('alice');
  await member.register('bob');
  const guild = await owner.post<{ id: string; channels: { id: string; type: number }[] }>('/guilds', {
    name: 'Lighthouse',
  });
  guildId = guild.body.id;
  general = guild.body.channels.find((c) => c.type === 0)?.id ?? '';
  const invite = await owner.post<{ code: string }>(`/channels/${general}/invites`, {});
  await member.post(`/invites/${invite.body.code}`);

  browser = await launchBrowser();
  bob = await openPerson(browser, server.url, { width: 1280, height: 800 });
  await bob.page.context().grantPermissions(['notifications'], { origin: server.url });
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

describe('Web Push in the web client', () => {
  let cdp: CDPSession;
  const registrations: { registrationId: string; scopeURL: string }[] = [];

  test('the service worker registers at the site root', async () => {
    const page = bob.page;
    cdp = await page.context().newCDPSession(page);
    cdp.on('ServiceWorker.workerRegistrationUpdated', (event: { registrations: typeof registrations }) => {
      registrations.push(...event.registrations);
    });
    await cdp.send('ServiceWorker.enable');
    await page.goto(`/channels/${guildId}/${general}`);
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();
    const registered = await page.evaluate(async () => {
      const registration = await (navigator as unknown as PageNavigator).serviceWorker.ready;
      return { scope: registration.scope, script: registration.active?.scriptURL ?? '' };
    });
    expect(registered).toEqual({ scope: `${server.url}/`, script: `${server.url}/sw.js` });

    // The dialog offers the push switch (subscribing itself needs a reachable push service).
    await page.getByRole('button', { name: 'Notification settings' }).click();
    const dialog = page.getByRole('dialog', { name: 'Notifications in Lighthouse' });
    await dialog.getByRole('checkbox', { name: 'Push notifications', checked: false }).waitFor();
    await dialog.getByRole('button', { name: 'Done' }).click();
  });

  test('a push shows a notification for its channel, one per channel', async () => {
    const page = bob.page;
    const registration = await waitFor(
      () => registrations.find((r) => r.scopeURL === `${server.url}/`),
      'DevTools reported the registration',
    );
    const push = (data: object) =>
      cdp.send('ServiceWorker.deliverPushMessage', {
        origin: server.url,
        registrationId: registration.registrationId,
        data: JSON.stringify(data),
      });
    const shown = () =>
      page.evaluate(async () => {
        const r = await (navigator as unknown as PageNavigator).serviceWorker.ready;
        return (await r.getNotifications()).map((n) => ({
          title: n.title,
          body: n.body,
          tag: n.tag,
          url: (n.data as { url: string }).url,
        }));
      });
    await push({
      channel_id: general,
      guild_id: guildId,
      message_id: '1',
      title: 'alice in #general (Lighthouse)',
      body: 'hello bob',
    });
    const first = await waitFor(
      async () => ((await shown()).length > 0 ? shown() : null),
      'the push was shown',
    );
    expect(first).toEqual([
      {
        title: 'alice in #general (Lighthouse)',
        body: 'hello bob',
        tag: general,
        url: `/channels/${guildId}/${general}`,
      },
    ]);
    // A newer push of the same channel replaces the shown one (tag = channel).
    await push({
      channel_id: general,
      guild_id: guildId,
      message_id: '2',
      title: 'alice',
      body: 'still there?',
    });
    await waitFor(
      async () => (await shown()).some((n) => n.body === 'still there?'),
      'the newer push replaced the older',
    );
    expect(await shown()).toHaveLength(1);
  });
});
