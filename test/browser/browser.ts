import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Locator,
  type Page,
  type WebSocket,
} from 'playwright-core';

import { Client, startServer, tempDir, type ServerProcess } from '../e2e/harness';

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(__dirname, '../..');

// Without the background-networking flags Chromium keeps dialling Google's hosts, which this machine refuses.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Fails (never skips) with what to install or build when the suite cannot run. */
export function requireBrowserSetup(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `${CHROMIUM} is missing: the browser suite drives Debian's Chromium. Install it with ` +
        '"apt-get update && apt-get install -y chromium" (never "npx playwright install").',
    );
  if (!existsSync(join(ROOT, 'dist/web/index.html')))
    throw new Error('dist/web/index.html is missing: run "npm run build" (npm test builds first).');
}

/** Headless Chromium with a fresh, temporary profile (Playwright makes and removes it). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

export interface Person {
  context: BrowserContext;
  page: Page;
  /** Every WebSocket the page opened, oldest first. */
  sockets: WebSocket[];
}

/** A person with their own browser context (own cookies and storage) at a given window size. */
export async function openPerson(
  browser: Browser,
  base: string,
  viewport: { width: number; height: number },
  mobile = false,
): Promise<Person> {
  const context = await browser.newContext({
    viewport,
    deviceScaleFactor: 1,
    isMobile: mobile,
    hasTouch: mobile,
    colorScheme: 'dark',
    locale: 'en-GB',
    timezoneId: 'UTC',
    baseURL: base,
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const sockets: WebSocket[] = [];
  page.on('websocket', (ws) => sockets.push(ws));
  page.on('pageerror', (err) =>
    process.stderr.write(`[browser ${viewport.width}px] page error: ${err.message}\n`),
  );
  // Everything must come from the server under test: no fonts, scripts or beacons from anywhere else.
  await context.route(
    (url) =>
      !url.href.startsWith(base) && !url.protocol.startsWith('data') && !url.protocol.startsWith('blob'),
    (route) => {
      process.stderr.write(`[browser] blocked a third-party request: ${route.request().url()}\n`);
      thirdParty.push(route.request().url());
      return route.abort();
    },
  );
  return { context, page, sockets };
}

export const thirdParty: string[] = [];

/** Waits until the locator shows the text (Playwright's locators wait; this names what was expected). */
export async function seeText(scope: Locator | Page, text: string | RegExp): Promise<Locator> {
  const found = scope.getByText(text).first();
  await found.waitFor({ state: 'visible' });
  return found;
}

/** A message whose text (not its author or time) contains `text`, or matches it. */
export function message(page: Page, text: string | RegExp): Locator {
  return page.locator('article.message').filter({ has: page.locator('.content', { hasText: text }) });
}

/** The element that has focus: its tag, accessible label and text, read in the page. */
export function focused(
  page: Page,
): Promise<{ tag: string; label: string | null; text: string; className: string }> {
  // Functions, never strings: the page's CSP (script-src 'self') forbids eval, which a string is compiled with.
  return page.evaluate(() => {
    const el = (globalThis as unknown as InPage).document.activeElement;
    return {
      tag: el ? el.tagName : '',
      label: el ? el.getAttribute('aria-label') : null,
      text: el ? (el.textContent ?? '') : '',
      className: el ? String(el.className) : '',
    };
  });
}

/** The few DOM shapes the tests read in the page (the test programme compiles without the DOM library). */
export interface InPageElement {
  tagName: string;
  className: unknown;
  textContent: string | null;
  getAttribute(name: string): string | null;
}
export interface InPageImage extends InPageElement {
  complete: boolean;
  naturalWidth: number;
}
export interface InPageLink extends InPageElement {
  href: string;
}
interface InPageDocument {
  title: string;
  activeElement: InPageElement | null;
  querySelector<T extends InPageElement = InPageElement>(selector: string): T | null;
  querySelectorAll<T extends InPageElement = InPageElement>(selector: string): Iterable<T>;
}

/**
 * The page's globals, as `(globalThis as unknown as InPage)` inside a function passed to page.evaluate or
 * page.waitForFunction (only the function's own text reaches the page: it can call nothing of this module).
 */
export interface InPage {
  document: InPageDocument;
}

/**
 * Where most browser suites start: the compiled monolith on SQLite in a temporary directory (rate limits off,
 * `env` on top), Alice registered through the API with a guild of her own, and her page in a 1440 x 900 window
 * already holding her token (nothing opened yet). `close` undoes it all.
 */
export interface GuildStage {
  server: ServerProcess;
  browser: Browser;
  alice: Person;
  /** The API as Alice. */
  api: Client;
  token: string;
  guildId: string;
  /** The guild's first text channel. */
  general: string;
  /** Errors thrown in Alice's page. */
  pageErrors: string[];
  close(): Promise<void>;
}

export async function openGuildStage(
  label: string,
  guildName: string,
  env: Record<string, string> = {},
): Promise<GuildStage> {
  requireBrowserSetup();
  const dir = tempDir(`parley-browser-${label}-`);
  const server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
    ...env,
  });
  const api = new Client(server.url);
  const registered = await api.post<{ token: string }>('/auth/register', {
    username: 'alice',
    email: 'alice@example.test',
    password: 'correct horse battery',
  });
  api.token = registered.body.token;
  const guild = await api.post<{ id: string; channels: { id: string; type: number }[] }>('/guilds', {
    name: guildName,
  });
  const browser = await launchBrowser();
  const alice = await openPerson(browser, server.url, { width: 1440, height: 900 });
  const pageErrors: string[] = [];
  alice.page.on('pageerror', (err) => pageErrors.push(err.message));
  await alice.page.addInitScript(
    (token: string) => localStorage.setItem('parley.token', token),
    registered.body.token,
  );
  return {
    server,
    browser,
    alice,
    api,
    token: registered.body.token,
    guildId: guild.body.id,
    general: guild.body.channels.find((c) => c.type === 0)?.id ?? '',
    pageErrors,
    close: async () => {
      await browser.close();
      await server.stop();
      dir.remove();
    },
  };
}
