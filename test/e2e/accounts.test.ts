import type { ParsedMail } from 'mailparser';
import { Secret, TOTP } from 'otpauth';
import { GatewayClient } from '../support/clients';
import { startSmtpSink, type SmtpSink } from '../support/smtp';
import { request, type Reply } from '../support/rest';
import { type ServerProcess, startServer, tempDir, waitFor } from './harness';

const PASSWORD = 'correct horse battery';
const PUBLIC_URL = 'https://chat.example.test';

let nextAddress = 0;
/** A client address of its own (through the trusted loopback proxy): fresh per-address rate-limit buckets. */
function address(): string {
  nextAddress++;
  return `203.0.${(nextAddress >> 8) & 255}.${nextAddress & 255}`;
}

/** The token of the link in a mail: the fragment of `<public_url>/<page>#token=...`. */
function linkToken(mail: ParsedMail, page: 'verify' | 'reset'): string {
  const match = new RegExp(`${PUBLIC_URL}/${page}#token=([A-Za-z0-9_-]+)`).exec(mail.text ?? '');
  if (!match) throw new Error(`no ${page} link in: ${mail.text}`);
  return match[1];
}

function recipient(mail: ParsedMail): string {
  const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
  return to?.value[0]?.address ?? '';
}

/**
 * Issue 23's mailed links against the compiled server with a real SMTP server receiving the mail: email
 * verification (`auth.email_verification: required`: the link makes the account), no account enumeration
 * through register, login or forgot, and reset (single-use links that
 * end every session, gateway connections included). The Cassandra and microservices files run it unchanged.
 */
describe('accounts: verification and password reset by mail', () => {
  const dir = tempDir('parley-accounts-');
  let server: ServerProcess;
  let smtp: SmtpSink;
  let counter = 0;

  const api = (method: string, path: string, init: { token?: string; body?: unknown } = {}): Promise<Reply> =>
    request(`${server.url}/api/v1${path}`, method, { ...init, headers: { 'x-forwarded-for': address() } });

  /** The mails to `to` so far. */
  const mailsTo = (to: string) => smtp.mails.filter((mail) => recipient(mail) === to);
  /** Waits for the `n`th mail to `to` (1-based) and answers it. */
  const mail = (to: string, n = 1) => waitFor(() => mailsTo(to)[n - 1], `mail ${n} to ${to} arrived`, 30_000);

  /** Registers (verification required: the answer holds no account) and answers what was sent. */
  async function register(name: string): Promise<{ email: string; username: string }> {
    const username = `${name}_${++counter}`.slice(0, 32);
    const email = `${username}@example.test`;
    const res = await api('POST', '/auth/register', { body: { username, email, password: PASSWORD } });
    if (res.status !== 201 || res.body.verification_pending !== true)
      throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return { email, username };
  }

  /** Registers and uses the mailed link, which makes the account: its id and a session. */
  async function verified(
    name: string,
  ): Promise<{ id: string; email: string; username: string; token: string }> {
    const user = await register(name);
    const made = await api('POST', '/auth/verify', {
      body: { token: linkToken(await mail(user.email), 'verify') },
    });
    expect(made.status).toBe(200);
    return { ...user, id: made.body.user.id, token: made.body.token };
  }

  const login = async (loginName: string, password = PASSWORD) =>
    api('POST', '/auth/login', { body: { login: loginName, password } });

  beforeAll(async () => {
    smtp = await startSmtpSink();
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
      PARLEY__SERVER__TRUST_PROXY: '["127.0.0.1"]',
      PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
      PARLEY__AUTH__EMAIL_VERIFICATION: 'required',
      PARLEY__AUTH__PUBLIC_URL: PUBLIC_URL,
      PARLEY__SMTP__HOST: '127.0.0.1',
      PARLEY__SMTP__PORT: String(smtp.port),
      PARLEY__SMTP__FROM: 'Parley <accounts@chat.example.test>',
      PARLEY__JOBS__POLL_INTERVAL: '50',
    });
  });

  afterAll(async () => {
    await server?.stop();
    await smtp?.stop();
    dir.remove();
  });

  describe('email verification (required)', () => {
    it('mails a link on registration that makes the account; until it is used there is no account', async () => {
      const user = await register('verify');
      // Nothing to log in to yet: the account is made by the link.
      expect((await login(user.username)).status).toBe(401);

      const first = await mail(user.email);
      expect(first.subject).toMatch(/verify/i);
      expect(first.from?.text).toContain('accounts@chat.example.test');

      const made = await api('POST', '/auth/verify', { body: { token: linkToken(first, 'verify') } });
      expect(made.status).toBe(200);
      expect(made.body.user).toMatchObject({ username: user.username, email: user.email, verified: true });
      const token = made.body.token as string;
      expect((await api('GET', '/users/@me', { token })).body).toMatchObject({
        id: made.body.user.id,
        verified: true,
      });
      expect((await api('POST', '/guilds', { token, body: { name: 'allowed' } })).status).toBe(201);
      expect((await login(user.username)).status).toBe(200);

      // Single use: the same link again is refused; so is a made-up one, in the form-body shape.
      const again = await api('POST', '/auth/verify', { body: { token: linkToken(first, 'verify') } });
      expect(again.status).toBe(400);
      expect(again.body).toMatchObject({ code: 50035, errors: { token: [{ code: 'TOKEN_INVALID' }] } });
      expect((await api('POST', '/auth/verify', { body: { token: 'A'.repeat(43) } })).status).toBe(400);
      expect((await api('POST', '/auth/verify', { body: {} })).status).toBe(400);
    });

    it('a verified account is not mailed again on resend', async () => {
      const user = await verified('resend_done');
      expect((await api('POST', '/auth/verify/resend', { token: user.token })).status).toBe(204);
      // A marker mail queued after the resend arrives after anything the resend would have queued.
      const marker = await register('marker');
      await mail(marker.email);
      expect(mailsTo(user.email)).toHaveLength(1);
    });
  });

  describe('forgot and reset', () => {
    it('answers 204 for every address, mailing only an account that exists', async () => {
      const user = await verified('forgot');
      const unknown = `nobody_${counter}@example.test`;
      const answers = await Promise.all([
        api('POST', '/auth/forgot', { body: { email: unknown } }),
        api('POST', '/auth/forgot', { body: { email: user.email.toUpperCase() } }),
        // Discord's clients send `login` (an address or a username).
        api('POST', '/auth/forgot', { body: { login: user.username } }),
      ]);
      expect(answers.map((a) => [a.status, a.body])).toEqual([
        [204, null],
        [204, null],
        [204, null],
      ]);
      await mail(user.email, 3); // the verification and two resets
      expect(mailsTo(unknown)).toHaveLength(0);
      expect(mailsTo(user.email)[1].subject).toMatch(/reset/i);

      expect((await api('POST', '/auth/forgot', { body: {} })).status).toBe(400);
      expect((await api('POST', '/auth/forgot', { body: { email: 'x'.repeat(300) } })).status).toBe(400);
    });

    it('a reset sets the password, ends every session (gateway too) and answers a new one; the link works once', async () => {
      const user = await verified('reset');
      const phone = (await login(user.username)).body.token as string;
      const gateway = await GatewayClient.ready(server.gatewayUrl, phone);
      try {
        expect((await api('POST', '/auth/forgot', { body: { email: user.email } })).status).toBe(204);
        const token = linkToken(await mail(user.email, 2), 'reset');

        const weak = await api('POST', '/auth/reset', { body: { token, password: 'short' } });
        expect(weak.status).toBe(400);
        expect(weak.body.errors).toHaveProperty('password');

        const reset = await api('POST', '/auth/reset', {
          body: { token, password: 'a brand new passphrase' },
        });
        expect(reset.status).toBe(200);
        expect(reset.body.user).toMatchObject({ id: user.id, verified: true });
        expect(await gateway.disconnected()).toEqual(expect.any(String));
        expect((await api('GET', '/users/@me', { token: user.token })).status).toBe(401);
        expect((await api('GET', '/users/@me', { token: phone })).status).toBe(401);
        expect((await api('GET', '/users/@me', { token: reset.body.token })).status).toBe(200);

        expect((await login(user.username)).status).toBe(401);
        expect((await login(user.username, 'a brand new passphrase')).status).toBe(200);

        const reused = await api('POST', '/auth/reset', {
          body: { token, password: 'yet another passphrase' },
        });
        expect(reused.status).toBe(400);
        expect(reused.body).toMatchObject({ errors: { token: [{ code: 'TOKEN_INVALID' }] } });
      } finally {
        gateway.close();
      }
    });

    it('a changed password voids reset links mailed before it; a link of one kind does nothing for the other', async () => {
      const user = await verified('reset_void');
      const other = await register('reset_void_other');
      // A registration link is not a reset link (and is used up by trying).
      const wrongKind = await api('POST', '/auth/reset', {
        body: { token: linkToken(await mail(other.email), 'verify'), password: 'sneaky passphrase' },
      });
      expect(wrongKind.status).toBe(400);

      expect((await api('POST', '/auth/forgot', { body: { email: user.email } })).status).toBe(204);
      expect((await api('POST', '/auth/forgot', { body: { email: user.email } })).status).toBe(204);
      const older = linkToken(await mail(user.email, 2), 'reset');
      const newer = linkToken(await mail(user.email, 3), 'reset');
      expect(
        (await api('POST', '/auth/reset', { body: { token: newer, password: 'first new passphrase' } }))
          .status,
      ).toBe(200);
      const stale = await api('POST', '/auth/reset', {
        body: { token: older, password: 'second new passphrase' },
      });
      expect(stale.status).toBe(400);
      expect((await login(user.username, 'first new passphrase')).status).toBe(200);
    });
  });

  describe('security', () => {
    it('no account enumeration through forgot, register or login', async () => {
      const owner = await verified('enum_owner');
      const fresh = `enum_fresh_${++counter}@example.test`;
      const strip = (r: Reply) => [r.status, r.body];

      // Register: a taken address answers exactly as a new one, and no account is made for it.
      const intruder = `enum_try_${++counter}`;
      const taken = await api('POST', '/auth/register', {
        body: { username: intruder, email: owner.email.toUpperCase(), password: PASSWORD },
      });
      const newcomer = `enum_new_${++counter}`;
      const untaken = await api('POST', '/auth/register', {
        body: { username: newcomer, email: fresh, password: PASSWORD },
      });
      expect(strip(taken)).toEqual([201, { token: null, user: null, verification_pending: true }]);
      expect(strip(untaken)).toEqual(strip(taken));
      // The address's owner hears of it, with a working reset link; the new address gets its link.
      const notice = await mail(owner.email, 2);
      expect(notice.subject).toMatch(/tried to register/i);
      expect(notice.text).toContain(owner.username);
      expect(linkToken(await mail(fresh), 'verify')).toEqual(expect.any(String));
      // Neither claimed its username: the attempt leaves nothing to probe with a second registration.
      expect((await login(intruder)).status).toBe(401);
      expect((await login(newcomer)).status).toBe(401);
      const again = await api('POST', '/auth/register', {
        body: { username: intruder, email: `enum_other_${++counter}@example.test`, password: PASSWORD },
      });
      expect(again.status).toBe(201);
      // Usernames are public (profiles, mentions): a taken one answers 409 whatever the address.
      const nameTaken = await api('POST', '/auth/register', {
        body: { username: owner.username, email: fresh, password: PASSWORD },
      });
      expect(nameTaken.status).toBe(409);
      expect(nameTaken.body.errors.username[0].code).toBe('USERNAME_ALREADY_TAKEN');

      // Login: a wrong password for an account answers as an unknown login does.
      const wrong = await login(owner.email, 'not the password');
      const nobody = await login(`enum_nobody_${++counter}@example.test`, 'not the password');
      expect(strip(wrong)).toEqual(strip(nobody));
      expect(wrong.status).toBe(401);

      // Forgot: 204 and no body for both; only the owner is mailed.
      const forgotOwner = await api('POST', '/auth/forgot', { body: { email: owner.email } });
      const forgotNobody = await api('POST', '/auth/forgot', {
        body: { email: `enum_nobody_${counter}@example.test` },
      });
      expect(strip(forgotOwner)).toEqual([204, null]);
      expect(strip(forgotNobody)).toEqual([204, null]);
      await mail(owner.email, 3);

      // The notice's reset link works: it was the owner after all.
      const reset = await api('POST', '/auth/reset', {
        body: { token: linkToken(notice, 'reset'), password: 'remembered passphrase' },
      });
      expect(reset.status).toBe(200);
      expect(reset.body.user.id).toBe(owner.id);
    });
  });

  describe('two-factor authentication (TOTP)', () => {
    /** The authenticator's code for the step `offset` steps from now (the server takes one step either side). */
    const code = (secret: string, offset = 0) =>
      new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({
        timestamp: Date.now() + offset * 30_000,
      });

    it('enables with a code and the password, then asks every login for a code or a backup code, once each', async () => {
      const user = await verified('mfa');
      const other = (await login(user.username)).body.token as string;
      const secret = new Secret({ size: 20 }).base32;

      const wrongPassword = await api('POST', '/users/@me/mfa/totp/enable', {
        token: user.token,
        body: { secret, code: code(secret), password: 'not the password' },
      });
      expect(wrongPassword.status).toBe(400);
      expect(wrongPassword.body.errors).toHaveProperty('password');
      const badSecret = await api('POST', '/users/@me/mfa/totp/enable', {
        token: user.token,
        body: { secret: 'too-short!', code: code(secret), password: PASSWORD },
      });
      expect(badSecret.status).toBe(400);

      const current = code(secret);
      const enabled = await api('POST', '/users/@me/mfa/totp/enable', {
        token: user.token,
        body: { secret, code: current, password: PASSWORD },
      });
      expect(enabled.status).toBe(200);
      const backups = (enabled.body.backup_codes as { code: string; consumed: boolean }[]).map((b) => b.code);
      expect(backups).toHaveLength(10);
      expect(new Set(backups).size).toBe(10);
      expect((await api('GET', '/users/@me', { token: user.token })).body.mfa_enabled).toBe(true);
      // The session that enabled it stays; the others did not pass the second factor.
      expect((await api('GET', '/users/@me', { token: other })).status).toBe(401);

      const first = await login(user.username);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ token: null, mfa: true, totp: true, backup: true });
      const ticket = first.body.ticket as string;
      // The code that enabled 2FA was used: it does not log in (replay).
      const replay = await api('POST', '/auth/mfa/totp', { body: { ticket, code: current } });
      expect(replay.status).toBe(400);
      expect(replay.body).toMatchObject({ code: 60008 });
      // The refused code left the ticket usable.
      const finished = await api('POST', '/auth/mfa/totp', { body: { ticket, code: code(secret, 1) } });
      expect(finished.status).toBe(200);
      expect((await api('GET', '/users/@me', { token: finished.body.token })).status).toBe(200);
      // A ticket finishes one login only.
      expect(
        (await api('POST', '/auth/mfa/totp', { body: { ticket, code: code(secret, -1) } })).body,
      ).toMatchObject({
        code: 60006,
      });

      // A backup code, typed loosely, works once.
      const typed = `${backups[0].slice(0, 4).toUpperCase()}-${backups[0].slice(4)}`;
      const second = await login(user.username);
      expect(
        (await api('POST', '/auth/mfa/totp', { body: { ticket: second.body.ticket, code: typed } })).status,
      ).toBe(200);
      const third = await login(user.username);
      const reused = await api('POST', '/auth/mfa/totp', {
        body: { ticket: third.body.ticket, code: backups[0] },
      });
      expect(reused.status).toBe(400);
      expect((await login(user.username)).body.backup).toBe(true);

      // Off again with another backup code: the password alone logs in.
      expect(
        (await api('POST', '/users/@me/mfa/totp/disable', { token: user.token, body: { code: 'wrong123' } }))
          .status,
      ).toBe(400);
      expect(
        (await api('POST', '/users/@me/mfa/totp/disable', { token: user.token, body: { code: backups[1] } }))
          .status,
      ).toBe(204);
      const plain = await login(user.username);
      expect(plain.body.token).toEqual(expect.any(String));
      expect(plain.body.user.mfa_enabled).toBe(false);
    });

    it('a password reset of an account with 2FA answers a ticket, not a session', async () => {
      const user = await verified('mfa_reset');
      const secret = new Secret({ size: 20 }).base32;
      expect(
        (
          await api('POST', '/users/@me/mfa/totp/enable', {
            token: user.token,
            body: { secret, code: code(secret), password: PASSWORD },
          })
        ).status,
      ).toBe(200);
      expect((await api('POST', '/auth/forgot', { body: { email: user.email } })).status).toBe(204);
      const token = linkToken(await mail(user.email, 2), 'reset');
      const reset = await api('POST', '/auth/reset', { body: { token, password: 'reset with 2fa on' } });
      expect(reset.status).toBe(200);
      expect(reset.body).toMatchObject({ token: null, mfa: true });
      expect((await api('GET', '/users/@me', { token: user.token })).status).toBe(401);
      const done = await api('POST', '/auth/mfa/totp', {
        body: { ticket: reset.body.ticket, code: code(secret, 1) },
      });
      expect(done.status).toBe(200);
    });
  });
});
