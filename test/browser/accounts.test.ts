import type { ParsedMail } from 'mailparser';
import { Secret, TOTP } from 'otpauth';
import type { Browser, Page } from 'playwright-core';
import { startServer, tempDir, type ServerProcess, waitFor } from '../e2e/harness';
import { startSmtpSink, type SmtpSink } from '../support/smtp';
import { launchBrowser, openPerson, requireBrowserSetup, seeText, thirdParty, type Person } from './browser';

// One person in real headless Chromium against the compiled monolith with email verification required and a
// real SMTP server taking the mail: register, verify by the mailed link, turn on 2FA from the QR code's key,
// log in with a code, forget the password and reset it by the mailed link (with a backup code for 2FA).
// The steps build on each other, in order.

const PUBLIC_URL = 'https://chat.example.test';
const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a whole new passphrase';
const EMAIL = 'carol@example.test';

let server: ServerProcess;
let dir: { path: string; remove: () => void };
let smtp: SmtpSink;
let browser: Browser;
let carol: Person;
let secret = '';
let backups: string[] = [];

/** The path of the link in the `n`th mail to Carol (1-based), on the server under test. */
async function mailedPath(n: number, page: 'verify' | 'reset'): Promise<string> {
  const mail: ParsedMail = await waitFor(
    () => smtp.mails.filter((m) => (m.text ?? '').includes(`/${page}#token=`))[n - 1],
    `${page} mail ${n} arrived`,
    30_000,
  );
  const match = new RegExp(`${PUBLIC_URL}(/${page}#token=[A-Za-z0-9_-]+)`).exec(mail.text ?? '');
  if (!match) throw new Error(`no ${page} link in: ${mail.text}`);
  return match[1];
}

/** The authenticator's code, `offset` 30-second steps from now (the server takes one either side, once). */
const code = (offset: number) =>
  new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({
    timestamp: Date.now() + offset * 30_000,
  });

async function logOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(/\/login$/);
}

beforeAll(async () => {
  requireBrowserSetup();
  dir = tempDir('parley-browser-accounts-');
  smtp = await startSmtpSink();
  server = await startServer({
    PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
    PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
    PARLEY__RATE_LIMITS__ENABLED: 'false',
    PARLEY__AUTH__EMAIL_VERIFICATION: 'required',
    PARLEY__AUTH__PUBLIC_URL: PUBLIC_URL,
    PARLEY__SMTP__HOST: '127.0.0.1',
    PARLEY__SMTP__PORT: String(smtp.port),
    PARLEY__JOBS__POLL_INTERVAL: '50',
  });
  browser = await launchBrowser();
  carol = await openPerson(browser, server.url, { width: 1280, height: 860 });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await smtp?.stop();
  dir?.remove();
});

describe('accounts in a real browser', () => {
  test('Carol registers and is asked to verify; the mailed link makes her account and signs her in', async () => {
    const page = carol.page;
    await page.goto('/register');
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Register', exact: true }).click();
    await seeText(page, 'Check your inbox');

    await page.goto(await mailedPath(1, 'verify'));
    await seeText(page, 'Your email address is verified and your account is ready.');
    await page.getByRole('button', { name: 'Open Parley' }).click();
    await page.getByRole('button', { name: 'New guild' }).waitFor();
    expect(await page.getByText('Please verify your email address').count()).toBe(0);
  });

  test('she turns on two-factor authentication from the QR code screen and sees her backup codes', async () => {
    const page = carol.page;
    await page.getByRole('button', { name: 'My account' }).click();
    await page.getByRole('img', { name: 'QR code of the authenticator key' }).waitFor();
    secret = (await page.getByTestId('totp-secret').textContent()) ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await page.getByLabel('Code from the app').fill(code(0));
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Turn on' }).click();
    await seeText(page, 'Two-factor authentication is on. Keep these backup codes');
    backups = await page.locator('.backup-codes code').allTextContents();
    expect(backups).toHaveLength(10);
    await expect(page.getByText('(this device)').count()).resolves.toBe(1);
    await page.keyboard.press('Escape');
  });

  test('logging in now asks for a code after the password', async () => {
    const page = carol.page;
    await logOut(page);
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    await page.getByLabel('Authentication code').fill(code(1));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'New guild' }).waitFor();
  });

  test('she forgets her password, resets it by the mailed link and passes 2FA with a backup code', async () => {
    const page = carol.page;
    await logOut(page);
    await page.getByRole('button', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByRole('button', { name: 'Send the link' }).click();
    await seeText(page, 'If an account uses that address');

    await page.goto(await mailedPath(1, 'reset'));
    await page.getByLabel('New password').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('heading', { name: 'Two-factor authentication' }).waitFor();
    await page.getByLabel('Authentication code').fill(backups[0]);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'New guild' }).waitFor();

    // The new password is the one that works now.
    const old = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: 'carol', password: PASSWORD }),
    });
    expect(old.status).toBe(401);
    expect(thirdParty).toEqual([]);
  });
});
