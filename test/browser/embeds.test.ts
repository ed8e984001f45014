import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import sharp from 'sharp';
import { Client, startServer, tempDir, type ServerProcess } from '../e2e/harness';
import {
  type InPage,
  type InPageImage,
  launchBrowser,
  message,
  openPerson,
  requireBrowserSetup,
  type Person,
} from './browser';

// Link previews in real headless Chromium against the compiled monolith (issue 18): a link unfurled from a local
// site (allowed by unfurl.allow_private_hosts) shows as a preview card with its proxied thumbnail; a rich embed
// shows its colour bar, fields and footer as text; hostile values never become markup or javascript: links; the
// author removes the previews with ×.
jest.setTimeout(120_000);

let server: ServerProcess;
let site: Server;
let sitePort = 0;
let dir: { path: string; remove: () => void };
let browser: Browser;
let alice: Person;
let api: Client;
let guildId = '';
let general = '';
const pageErrors: string[] = [];

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-embeds-');
  const cover = await sharp({ create: { width: 8, height: 6, channels: 3, background: '#2266cc' } })
    .png()
    .toBuffer();
  site = createServer((req, res) => {
    if (req.url === '/cover.png') {
      res.writeHead(200, { 'content-type': 'image/png' }).end(cover);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><head>
      <meta property="og:title" content="Tide tables <img src=x onerror=alert(1)>">
      <meta property="og:description" content="High water at 09:12">
      <meta property="og:site_name" content="Harbour Wiki">
      <meta property="og:image" content="/cover.png"></head><body></body></html>`);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  sitePort = (site.address() as AddressInfo).port;
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
    PARLEY__UNFURL__ALLOW_PRIVATE_HOSTS: JSON.stringify(['127.0.0.1']),
  });
  api = new Client(server.url);
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
  await new Promise((resolve) => site?.close(resolve));
  dir?.remove();
});

describe('embeds in the web client', () => {
  test('a link preview card arrives live, with its proxied thumbnail, and × removes it', async () => {
    const page = alice.page;
    await page.goto(`/channels/${guildId}/${general}`);
    await page.getByRole('heading', { name: 'general', exact: true }).waitFor();
    const link = `http://127.0.0.1:${sitePort}/tides`;
    await api.post(`/channels/${general}/messages`, { content: `Tides: ${link}` });

    const item = message(page, 'Tides:');
    const card = item.locator('.embed');
    await card.waitFor();
    expect(await card.locator('.embed-provider').textContent()).toBe('Harbour Wiki');
    const title = card.locator('.embed-title a');
    expect(await title.textContent()).toBe('Tide tables <img src=x onerror=alert(1)>');
    expect(await title.getAttribute('href')).toBe(link);
    expect(await card.locator('.embed-description').textContent()).toBe('High water at 09:12');
    // The thumbnail comes through this server's media proxy, never from the linked site.
    const thumb = card.locator('img.embed-thumbnail');
    expect(await thumb.getAttribute('src')).toMatch(/^\/media\/external\//);
    await page.waitForFunction(() =>
      [
        ...(globalThis as unknown as InPage).document.querySelectorAll<InPageImage>('img.embed-thumbnail'),
      ].some((img) => img.complete && img.naturalWidth > 0),
    );
    expect(await card.locator('img:not(.embed-thumbnail)').count()).toBe(0);

    await item.hover();
    await item.getByRole('button', { name: 'Remove embeds' }).click();
    await card.waitFor({ state: 'detached' });
    expect(pageErrors).toEqual([]);
  });

  test('a rich embed shows its colour, fields and footer as text; unsafe links stay text', async () => {
    const page = alice.page;
    await api.post(`/channels/${general}/messages`, {
      content: 'Status report',
      embeds: [
        {
          title: 'Ferry <b>status</b>',
          url: 'https://ferry.example.test/status',
          description: '**All** sailings on time',
          color: 0x33aa55,
          fields: [
            { name: 'Morning', value: 'on time', inline: true },
            { name: 'Evening', value: 'delayed', inline: true },
          ],
          footer: { text: 'Harbour office' },
          author: { name: 'Harbour bot' },
          image: { url: `http://127.0.0.1:${sitePort}/cover.png` },
        },
      ],
    });
    const card = message(page, 'Status report').locator('.embed');
    await card.waitFor();
    expect(await card.getAttribute('style')).toContain('border-left-color: rgb(51, 170, 85)');
    expect(await card.locator('.embed-title').textContent()).toBe('Ferry <b>status</b>');
    // Markdown in a rich description is rendered safely (bold), as Discord does.
    expect(await card.locator('.embed-description strong').textContent()).toBe('All');
    expect(await card.locator('.embed-field dt').allInnerTexts()).toEqual(['Morning', 'Evening']);
    expect(await card.locator('.embed-footer').textContent()).toBe('Harbour office');
    expect(await card.locator('a[href^="javascript"]').count()).toBe(0);
    // A sender's picture is served through the media proxy too (Discord proxies every embed image).
    expect(await card.locator('img.embed-picture').getAttribute('src')).toMatch(/^\/media\/external\//);
    await page.waitForFunction(() =>
      [...(globalThis as unknown as InPage).document.querySelectorAll<InPageImage>('img.embed-picture')].some(
        (img) => img.complete && img.naturalWidth > 0,
      ),
    );
    expect(pageErrors).toEqual([]);
  });
});
