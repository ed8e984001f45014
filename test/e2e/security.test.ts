import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import sharp from 'sharp';
import { GatewayClient, waitFor } from '../support/clients';
import { type ServerProcess, startServer, tempDir } from './harness';

const ROOT = join(__dirname, '../..');
const PASSWORD = 'correct horse battery';
const VIEW_CHANNEL = String(1 << 10);
const KICK_MEMBERS = String(1 << 1);
const QUOTA = 64 * 1024;

/** Every file under a directory (the local file store), for "nothing was stored". */
function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

type RawBody = string | FormData;

interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

interface CallOptions {
  token?: string | null;
  body?: unknown;
  /** The client address, as the trusted proxy (loopback) reports it in X-Forwarded-For. */
  ip?: string;
  headers?: Record<string, string>;
  raw?: RawBody;
}

let nextAddress = 0;
/** A client address of its own: every test gets fresh per-address rate-limit buckets. */
function address(): string {
  nextAddress++;
  return `198.51.${(nextAddress >> 8) & 255}.${nextAddress & 255}`;
}

async function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { 'x-forwarded-for': options.ip ?? address(), ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: RawBody | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${base}/api/v1${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: kept as text for the assertion to show
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

interface Account {
  id: string;
  username: string;
  token: string;
}

/**
 * Issue 15's attacks, each performed against the compiled monolith (rate limits on, as a public instance runs
 * it, behind a trusted loopback proxy) and shown to fail.
 */
describe('security: attacks that must fail', () => {
  const dir = tempDir();
  let server: ServerProcess;
  let counter = 0;
  const api = (method: string, path: string, options?: CallOptions) =>
    call(server.url, method, path, options);

  async function account(name: string): Promise<Account> {
    const username = `${name}_${++counter}`.slice(0, 32);
    const res = await api('POST', '/auth/register', {
      body: { username, email: `${username}@example.test`, password: PASSWORD },
    });
    if (res.status !== 201)
      throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return { id: res.body.user.id, username, token: res.body.token };
  }

  async function ok(method: string, path: string, token: string, body?: unknown): Promise<any> {
    const res = await api(method, path, { token, body });
    if (res.status < 200 || res.status >= 300)
      throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async function guildWith(owner: Account, members: Account[]): Promise<{ id: string; general: string }> {
    const guild = await ok('POST', '/guilds', owner.token, { name: 'security test guild' });
    const general = guild.channels[0].id as string;
    const invite = await ok('POST', `/channels/${general}/invites`, owner.token, {});
    for (const m of members) await ok('POST', `/invites/${invite.code}`, m.token);
    return { id: guild.id, general };
  }

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__STORAGE__LOCAL__PATH: `${dir.path}/files`,
      PARLEY__SERVER__TRUST_PROXY: '["127.0.0.1"]',
      PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
      PARLEY__AUTH__LOGIN_LOCKOUT: '{"max_failures":3,"base_ms":600000,"max_ms":3600000,"reset_ms":600000}',
      PARLEY__MEDIA__SIGNING_SECRET: 'security-e2e-signing-secret-0123456789',
      PARLEY__LOGGING__LEVEL: 'info',
      PARLEY__RATE_LIMITS__ROUTES: '{"media.resize":{"limit":5,"window_ms":600000}}',
      PARLEY__METRICS__LISTEN: '127.0.0.1:0',
      // Tiny, so one test can reach it; every other test's uploads are a few hundred bytes at most.
      PARLEY__MEDIA__USER_QUOTA: String(QUOTA),
    });
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  describe('1. auth rate limits keyed on the address', () => {
    it('a bearer header (fresh tokens chained) does not lift the registration limit', async () => {
      const ip = address();
      let token: string | null = null;
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const username = `chain_${++counter}`;
        const res = await api('POST', '/auth/register', {
          ip,
          token,
          body: { username, email: `${username}@example.test`, password: PASSWORD },
        });
        statuses.push(res.status);
        if (res.status === 201) token = res.body.token as string;
        else {
          expect(res.status).toBe(429);
          expect(res.body).toMatchObject({ code: 20028, retry_after: expect.any(Number) });
          expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
        }
      }
      expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
    });

    it('nor the login limit', async () => {
      const victim = await account('login_victim');
      const ip = address();
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        const res = await api('POST', '/auth/login', {
          ip,
          token: victim.token,
          // Right password: only the per-address bucket can stop these.
          body: { login: victim.username, password: PASSWORD },
        });
        statuses.push(res.status);
      }
      expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
      expect(statuses[10]).toBe(429);
    });

    it('locks an account after repeated failures, from any address, with the same answer for unknown ones', async () => {
      const victim = await account('lock_victim');
      for (let i = 0; i < 3; i++) {
        const res = await api('POST', '/auth/login', {
          body: { login: victim.username, password: 'wrong guess' },
        });
        expect(res.status).toBe(401);
      }
      // The right password, from yet another address, and by email instead of username: still locked.
      const locked = await api('POST', '/auth/login', {
        body: { login: `${victim.username}@example.test`, password: PASSWORD },
      });
      expect(locked.status).toBe(429);
      expect(locked.body).toMatchObject({ code: 20028, retry_after: expect.any(Number) });
      expect(locked.body.retry_after).toBeGreaterThan(0);

      for (let i = 0; i < 3; i++) {
        const res = await api('POST', '/auth/login', {
          body: { login: 'nobody_here', password: 'wrong guess' },
        });
        expect(res.status).toBe(401);
      }
      const unknown = await api('POST', '/auth/login', {
        body: { login: 'nobody_here', password: PASSWORD },
      });
      expect(unknown.status).toBe(429);
      expect(Object.keys(unknown.body).sort()).toEqual(Object.keys(locked.body).sort());
      expect({ ...unknown.body, retry_after: 0 }).toEqual({ ...locked.body, retry_after: 0 });
    });
  });

  describe('2. canonical ids at the edge', () => {
    let owner: Account;
    let member: Account;
    let guild: { id: string; general: string };

    beforeAll(async () => {
      owner = await account('ids_owner');
      member = await account('ids_member');
      guild = await guildWith(owner, [member]);
    });

    it('a user whose access was revoked cannot read or post through /channels/0<id>', async () => {
      const channel = await ok('POST', `/guilds/${guild.id}/channels`, owner.token, { name: 'staff' });
      // Before the revocation: the canonical path works, the padded one names nothing (no cache entry to keep).
      expect((await api('GET', `/channels/${channel.id}/messages`, { token: member.token })).status).toBe(
        200,
      );
      expect((await api('GET', `/channels/0${channel.id}/messages`, { token: member.token })).status).toBe(
        404,
      );

      await ok('PUT', `/channels/${channel.id}/permissions/${member.id}`, owner.token, {
        type: 1,
        deny: VIEW_CHANNEL,
      });
      for (const path of [
        `/channels/${channel.id}`,
        `/channels/0${channel.id}`,
        `/channels/00${channel.id}`,
      ]) {
        const read = await api('GET', `${path}/messages`, { token: member.token });
        expect(read.status).toBe(404);
        expect(read.body).toMatchObject({ code: expect.any(Number), message: expect.any(String) });
        const post = await api('POST', `${path}/messages`, {
          token: member.token,
          body: { content: 'still here' },
        });
        expect(post.status).toBe(404);
      }
      const history = await ok('GET', `/channels/${channel.id}/messages`, owner.token);
      expect(history).toEqual([]);
    });

    it('a demoted moderator cannot kick through /guilds/0<id>', async () => {
      const moderator = await account('ids_mod');
      const victim = await account('ids_victim');
      const g = await guildWith(owner, [moderator, victim]);
      const role = await ok('POST', `/guilds/${g.id}/roles`, owner.token, {
        name: 'mods',
        permissions: KICK_MEMBERS,
      });
      await ok('PATCH', `/guilds/${g.id}/members/${moderator.id}`, owner.token, { roles: [role.id] });
      // The padded id never reaches the service, before or after the demotion.
      expect((await api('GET', `/guilds/0${g.id}`, { token: moderator.token })).status).toBe(404);
      await ok('PATCH', `/guilds/${g.id}/members/${moderator.id}`, owner.token, { roles: [] });

      const padded = await api('DELETE', `/guilds/0${g.id}/members/${victim.id}`, { token: moderator.token });
      expect(padded.status).toBe(404);
      const paddedUser = await api('DELETE', `/guilds/${g.id}/members/0${victim.id}`, {
        token: moderator.token,
      });
      expect(paddedUser.status).toBe(404);
      const canonical = await api('DELETE', `/guilds/${g.id}/members/${victim.id}`, {
        token: moderator.token,
      });
      expect(canonical.status).toBe(403);
      expect((await api('GET', `/guilds/${g.id}/members/${victim.id}`, { token: owner.token })).status).toBe(
        200,
      );
    });

    it("a kicked member gets GUILD_DELETE and none of the guild's events afterwards", async () => {
      const kicked = await account('ids_kicked');
      const g = await guildWith(owner, [kicked]);
      const gateway = await GatewayClient.ready(server.url, kicked.token);
      try {
        // Trying to reach the guild under another spelling of its id fails outright.
        expect((await api('GET', `/guilds/0${g.id}`, { token: kicked.token })).status).toBe(404);
        expect((await api('POST', `/channels/0${g.general}/typing`, { token: kicked.token })).status).toBe(
          404,
        );

        await ok('DELETE', `/guilds/${g.id}/members/${kicked.id}`, owner.token);
        await gateway.next('GUILD_DELETE', (p) => p.d.id === g.id);
        const from = gateway.events.length;
        await ok('POST', `/channels/${g.general}/messages`, owner.token, { content: 'after the kick' });
        expect((await api('GET', `/channels/0${g.general}/messages`, { token: kicked.token })).status).toBe(
          404,
        );
        // Ordering sentinel: the kicked user's own USER_UPDATE arrives after anything routed before it.
        await ok('PATCH', '/users/@me', kicked.token, { display_name: 'sentinel' });
        await gateway.sentinel('sentinel');
        expect(gateway.named('MESSAGE_CREATE', from)).toEqual([]);
      } finally {
        gateway.close();
      }
    });

    it('ids in bodies and queries are canonical snowflakes or 400; over-long path ids are 404 in the contract shape', async () => {
      const dm = await api('POST', '/users/@me/channels', {
        token: owner.token,
        body: { recipient_id: `0${member.id}` },
      });
      expect(dm.status).toBe(400);
      expect(dm.body.errors).toHaveProperty('recipient_id');
      const history = await api('GET', `/channels/${guild.general}/messages?before=0${guild.general}`, {
        token: owner.token,
      });
      expect(history.status).toBe(400);
      expect(history.body.errors).toHaveProperty('before');
      const tooBig = await api('GET', `/channels/${guild.general}/messages?after=9223372036854775808`, {
        token: owner.token,
      });
      expect(tooBig.status).toBe(400);

      const long = await api('GET', `/channels/${'1'.repeat(300)}/messages`, { token: owner.token });
      expect(long.status).toBe(404);
      expect(long.body).toEqual({ code: expect.any(Number), message: expect.any(String) });
      const outOfRange = await api('GET', `/channels/99999999999999999999/messages`, { token: owner.token });
      expect(outOfRange.status).toBe(404);
      expect(outOfRange.body).toEqual({ code: 10003, message: 'Unknown channel' });
    });
  });

  describe('4. trusted proxies', () => {
    it('a client behind the proxy cannot pick its own address for rate limiting', async () => {
      const real = address();
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const username = `spoof_${++counter}`;
        // The client writes a new "address" each time; the proxy appends the one it saw.
        const res = await api('POST', '/auth/register', {
          headers: { 'x-forwarded-for': `203.0.113.${i + 1}, ${real}` },
          body: { username, email: `${username}@example.test`, password: PASSWORD },
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
    });
  });

  describe('5. sessions', () => {
    async function login(user: Account): Promise<string> {
      const res = await api('POST', '/auth/login', { body: { login: user.username, password: PASSWORD } });
      expect(res.status).toBe(200);
      return res.body.token as string;
    }

    it('a password change revokes every other token and closes their gateway sessions', async () => {
      const user = await account('pw_change');
      const [laptop, phone] = [await login(user), await login(user)];
      const gateway = await GatewayClient.ready(server.url, phone);
      try {
        const changed = await api('PATCH', '/users/@me', {
          token: user.token,
          body: { password: 'a brand new passphrase', current_password: PASSWORD },
        });
        expect(changed.status).toBe(200);
        expect(await gateway.disconnected()).toEqual(expect.any(String));
        expect((await api('GET', '/users/@me', { token: laptop })).status).toBe(401);
        expect((await api('GET', '/users/@me', { token: phone })).status).toBe(401);
        expect((await api('GET', '/users/@me', { token: user.token })).status).toBe(200);
        const again = await GatewayClient.ready(server.url, user.token);
        again.close();
        const refused = new GatewayClient(server.url, phone);
        expect((await refused.connectError()).data).toMatchObject({ code: 4004 });
        refused.close();
      } finally {
        gateway.close();
      }
    });

    it('lists sessions without their tokens, revokes one, and logs out everywhere', async () => {
      const user = await account('sessions');
      const second = await login(user);
      const third = await login(user);
      const listed = await api('GET', '/users/@me/sessions', { token: user.token });
      expect(listed.status).toBe(200);
      expect(listed.body).toHaveLength(3);
      expect(listed.body.filter((s: any) => s.current)).toHaveLength(1);
      const text = JSON.stringify(listed.body);
      for (const token of [user.token, second, third]) expect(text).not.toContain(token);
      for (const s of listed.body) expect(s.expires_at).toEqual(expect.any(String)); // auth.token_ttl by default

      const other = listed.body.find((s: any) => !s.current);
      expect((await api('DELETE', `/users/@me/sessions/${other.id}`, { token: user.token })).status).toBe(
        204,
      );
      expect((await api('DELETE', `/users/@me/sessions/${other.id}`, { token: user.token })).status).toBe(
        404,
      );
      const after = await api('GET', '/users/@me/sessions', { token: user.token });
      expect(after.body).toHaveLength(2);
      const statuses = await Promise.all(
        [second, third].map(async (t) => (await api('GET', '/users/@me', { token: t })).status),
      );
      expect(statuses.sort()).toEqual([200, 401]);

      // Another user cannot revoke this user's session by its id.
      const stranger = await account('sessions_stranger');
      const mine = after.body.find((s: any) => s.current);
      expect((await api('DELETE', `/users/@me/sessions/${mine.id}`, { token: stranger.token })).status).toBe(
        404,
      );

      const gateway = await GatewayClient.ready(server.url, user.token);
      expect((await api('POST', '/auth/logout-all', { token: user.token })).status).toBe(204);
      await gateway.disconnected();
      for (const token of [user.token, second, third])
        expect((await api('GET', '/users/@me', { token })).status).toBe(401);
    });
  });

  describe('6. requests', () => {
    it('refuses form and text bodies with 415 in the contract shape (no cross-site form login or sign-up)', async () => {
      const user = await account('forms');
      const attempts: [string, RawBody, string?][] = [
        [
          '/auth/login',
          `login=${user.username}&password=${encodeURIComponent(PASSWORD)}`,
          'application/x-www-form-urlencoded',
        ],
        ['/auth/login', JSON.stringify({ login: user.username, password: PASSWORD }), 'text/plain'],
        [
          '/auth/register',
          JSON.stringify({ username: 'formed', email: 'f@example.test', password: PASSWORD }),
          'text/plain;charset=UTF-8',
        ],
        ['/auth/login', JSON.stringify({ login: user.username, password: PASSWORD }), undefined],
      ];
      for (const [path, raw, type] of attempts) {
        const res = await api('POST', path, { raw, headers: type ? { 'content-type': type } : {} });
        expect(res.status).toBe(415);
        expect(res.body).toEqual({ code: expect.any(Number), message: expect.any(String) });
      }
      const form = new FormData();
      form.append('login', user.username);
      form.append('password', PASSWORD);
      const multipart = await api('POST', '/auth/login', { raw: form });
      expect(multipart.status).toBe(415);
      // JSON with a charset is JSON.
      const json = await api('POST', '/auth/login', {
        raw: JSON.stringify({ login: user.username, password: PASSWORD }),
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
      expect(json.status).toBe(200);
    });

    it('uploads still take multipart, and only upload routes do', async () => {
      const owner = await account('uploader');
      const guild = await guildWith(owner, []);
      const form = new FormData();
      form.append('file', new Blob(['hello']), 'hello.txt');
      const up = await api('POST', `/channels/${guild.general}/attachments`, {
        token: owner.token,
        raw: form,
      });
      expect(up.status).toBe(201);
      const form2 = new FormData();
      form2.append('content', 'hi');
      const msg = await api('POST', `/channels/${guild.general}/messages`, {
        token: owner.token,
        raw: form2,
      });
      expect(msg.status).toBe(415);
    });

    it('generates request ids itself; a client id is only recorded', async () => {
      const forged = await api('GET', '/users/@me', { headers: { 'x-request-id': 'forged-id' } });
      expect(forged.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const weird = await api('GET', '/users/@me', { headers: { 'x-request-id': 'x'.repeat(500) } });
      expect(weird.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const id = forged.headers.get('x-request-id') as string;
      await waitFor(() => server.output().includes(id), 'the request is logged');
      const line = server
        .output()
        .split('\n')
        .find((l) => l.includes(id)) as string;
      expect(JSON.parse(line)).toMatchObject({ req_id: id, client_req_id: 'forged-id' });
      expect(server.output()).not.toContain('x'.repeat(500));
    });

    it('answers 413 to a 5 MB body while the client is still sending it (raw socket, both framings)', async () => {
      const url = new URL(server.url);
      const size = 5 * 1024 * 1024;
      const send = (chunked: boolean) =>
        new Promise<string>((resolve) => {
          const socket = connect(Number(url.port), url.hostname);
          let received = '';
          socket.setEncoding('latin1');
          socket.on('data', (d: string) => (received += d));
          socket.on('error', (e: NodeJS.ErrnoException) =>
            resolve(`${e.code}: ${received.split('\r\n')[0]}`),
          );
          socket.on('close', () => resolve(received.split('\r\n')[0]));
          socket.write(
            `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
              (chunked ? 'Transfer-Encoding: chunked\r\n\r\n' : `Content-Length: ${size}\r\n\r\n`),
          );
          const chunk = Buffer.alloc(64 * 1024, 0x20);
          let sent = 0;
          const pump = (): void => {
            while (sent < size) {
              sent += chunk.length;
              const frame = chunked
                ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])
                : chunk;
              if (!socket.write(frame)) {
                socket.once('drain', pump);
                return;
              }
            }
            if (chunked) socket.write('0\r\n\r\n');
          };
          pump();
        });
      for (const chunked of [false, true]) {
        for (let i = 0; i < 5; i++) expect(await send(chunked)).toBe('HTTP/1.1 413 Payload Too Large');
      }
    });
  });

  describe('7. secrets out of logs', () => {
    it('logs signed media URLs without their signature', async () => {
      const owner = await account('signed');
      const guild = await guildWith(owner, []);
      const channel = await ok('POST', `/guilds/${guild.id}/channels`, owner.token, {
        name: 'private',
        permission_overwrites: [{ id: guild.id, type: 0, deny: VIEW_CHANNEL }],
      });
      const form = new FormData();
      form.append('file', new Blob(['secret']), 'secret.txt');
      const up = await api('POST', `/channels/${channel.id}/attachments`, { token: owner.token, raw: form });
      expect(up.status).toBe(201);
      const message = await ok('POST', `/channels/${channel.id}/messages`, owner.token, {
        attachment_ids: [up.body.id],
      });
      const signed = message.attachments[0].url as string;
      const signature = /hm=([0-9a-f]{64})/.exec(signed)?.[1] as string;
      expect(signature).toEqual(expect.any(String));
      expect((await fetch(`${server.url}${signed}`)).status).toBe(200);
      const path = signed.split('?')[0];
      await waitFor(() => server.output().includes(`${path}?`), 'the media request is logged');
      expect(server.output()).toContain('hm=[redacted]');
      expect(server.output()).not.toContain(signature);
    });

    const secrets = {
      PARLEY__REDIS__URL: 'redis://app:hunter2-redis@127.0.0.1:1',
      PARLEY__NATS__URL: 'nats://s3cr3t-nats-token@127.0.0.1:1',
    };

    it('masks credentials inside redis.url and nats.url when a boot fails', () => {
      // The api role needs Redis first: its boot fails there, naming the URL.
      const failed = spawnSync(process.execPath, [join(ROOT, 'dist/apps/api/src/main.js')], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          PARLEY__INSTANCE__DEPLOYMENT_MODE: 'microservices',
          PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/boot.db`,
          PARLEY__SERVER__PORT: '0',
          PARLEY__REDIS__COMMAND_TIMEOUT: '500',
          PARLEY__MEDIA__SIGNING_SECRET: 'security-e2e-signing-secret-0123456789',
          ...secrets,
        },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(failed.status).not.toBe(0);
      expect(failed.stderr).toContain('127.0.0.1:1');
      expect(failed.stderr).not.toContain('hunter2-redis');
      expect(failed.stderr).not.toContain('s3cr3t-nats-token');
    });

    it('masks them in parley config check', () => {
      const checked = spawnSync(
        process.execPath,
        [join(ROOT, 'dist/apps/cli/src/main.js'), 'config', 'check'],
        {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? '', ...secrets },
          encoding: 'utf8',
        },
      );
      expect(checked.status).toBe(0);
      expect(checked.stdout).toContain('redis://app:***@127.0.0.1:1');
      expect(checked.stdout).toContain('nats://***@127.0.0.1:1');
      expect(checked.stdout).not.toContain('hunter2-redis');
      expect(checked.stdout).not.toContain('s3cr3t-nats-token');
    });
  });

  describe('8. names people see', () => {
    it('refuses bidi overrides and control characters in names, strips them from filenames', async () => {
      const owner = await account('names');
      const member = await account('names_m');
      const guild = await guildWith(owner, [member]);
      const evil = 'admin\u202Egnp.exe';
      const refusals: [string, string, unknown][] = [
        ['POST', '/guilds', { name: evil }],
        ['PATCH', `/guilds/${guild.id}`, { name: 'a\u0007bell' }],
        ['POST', `/guilds/${guild.id}/channels`, { name: evil }],
        ['POST', `/guilds/${guild.id}/roles`, { name: '\u2066isolate\u2069' }],
        ['PATCH', `/guilds/${guild.id}/members/${member.id}`, { nick: evil }],
        ['PATCH', '/users/@me', { display_name: 'line\u2028break' }],
        ['POST', '/auth/register', { username: 'a\u202eb', email: 'x@example.test', password: PASSWORD }],
      ];
      for (const [method, path, body] of refusals) {
        const res = await api(method, path, { token: owner.token, body });
        expect([method, path, res.status]).toEqual([method, path, 400]);
        expect(res.body).toMatchObject({ code: 50035, errors: expect.any(Object) });
      }
      const form = new FormData();
      form.append('file', new Blob(['x']), 'photo\u202Egpj.exe');
      const up = await api('POST', `/channels/${guild.general}/attachments`, {
        token: owner.token,
        raw: form,
      });
      expect(up.status).toBe(201);
      expect(up.body.filename).toBe('photogpj.exe');
      // Scripts that need joiners keep them.
      const persian = await api('PATCH', '/users/@me', {
        token: owner.token,
        body: { display_name: 'می\u200Cخواهم' },
      });
      expect(persian.status).toBe(200);
    });
  });

  describe('9. smaller ones', () => {
    it('refuses messages, uploads and invites in category channels with 400 and Discord codes', async () => {
      const owner = await account('category');
      const guild = await guildWith(owner, []);
      const category = await ok('POST', `/guilds/${guild.id}/channels`, owner.token, {
        name: 'topics',
        type: 4,
      });
      const message = await api('POST', `/channels/${category.id}/messages`, {
        token: owner.token,
        body: { content: 'into the void' },
      });
      expect(message.status).toBe(400);
      expect(message.body.code).toBe(50008);
      const invite = await api('POST', `/channels/${category.id}/invites`, { token: owner.token, body: {} });
      expect(invite.status).toBe(400);
      expect(invite.body.code).toBe(50024);
      const form = new FormData();
      form.append('file', new Blob(['x']), 'x.txt');
      const up = await api('POST', `/channels/${category.id}/attachments`, { token: owner.token, raw: form });
      expect(up.status).toBe(400);
      expect(up.body.code).toBe(50024);
    });

    it('limits image resizing per address, and serves sizes already rendered from its cache', async () => {
      const owner = await account('resize');
      const guild = await guildWith(owner, []);
      const png = await sharp({
        create: { width: 200, height: 100, channels: 3, background: { r: 200, g: 10, b: 10 } },
      })
        .png()
        .toBuffer();
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'red.png');
      const up = await api('POST', `/channels/${guild.general}/attachments`, {
        token: owner.token,
        raw: form,
      });
      expect(up.status).toBe(201);
      const message = await ok('POST', `/channels/${guild.general}/messages`, owner.token, {
        attachment_ids: [up.body.id],
      });
      const url = `${server.url}${message.attachments[0].url as string}`;
      const get = (width: number, ip: string) =>
        fetch(`${url}${url.includes('?') ? '&' : '?'}width=${width}`, { headers: { 'x-forwarded-for': ip } });

      const attacker = address();
      const statuses: number[] = [];
      for (let width = 20; width < 27; width++) statuses.push((await get(width, attacker)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const limited = await get(40, attacker);
      expect(limited.status).toBe(429);
      expect(await limited.json()).toMatchObject({ retry_after: expect.any(Number) });
      // Sizes already rendered cost nothing: served from the cache, even to the limited address.
      for (let i = 0; i < 10; i++) expect((await get(21, attacker)).status).toBe(200);
      // Others are not limited by the attacker.
      expect((await get(41, address())).status).toBe(200);
    });

    it('refuses an upload past the per-user quota before storing it, and deleting files frees room', async () => {
      const hoarder = await account('hoarder');
      const neighbour = await account('neighbour');
      const guild = await guildWith(hoarder, [neighbour]);
      const upload = (who: Account, bytes: number, name: string) => {
        const form = new FormData();
        form.append('file', new Blob([new Uint8Array(bytes).fill(0x61)]), name);
        return api('POST', `/channels/${guild.general}/attachments`, { token: who.token, raw: form });
      };
      const first = await upload(hoarder, 40 * 1024, 'first.txt');
      expect(first.status).toBe(201);
      const stored = filesUnder(`${dir.path}/files`);

      // 40 KiB held + 30 KiB > 64 KiB: refused in the contract's shape, and no file is left behind.
      const over = await upload(hoarder, 30 * 1024, 'over.txt');
      expect(over.status).toBe(413);
      expect(over.body).toMatchObject({
        code: 40005,
        message: expect.stringContaining('quota'),
        errors: { file: [{ code: 'UPLOAD_QUOTA_EXCEEDED', message: expect.any(String) }] },
      });
      expect(filesUnder(`${dir.path}/files`)).toEqual(stored);
      // Nothing stored was lost: the first upload is still served, and a file that fits still goes in.
      expect((await fetch(`${server.url}${first.body.url as string}`)).status).toBe(200);
      const fits = await upload(hoarder, 20 * 1024, 'fits.txt');
      expect(fits.status).toBe(201);
      expect((await upload(hoarder, 8 * 1024, 'one-too-many.txt')).status).toBe(413);
      // The quota is the uploader's own: another member of the channel is not held back.
      expect((await upload(neighbour, 30 * 1024, 'theirs.txt')).status).toBe(201);

      // Deleting the message that holds the first file frees its 40 KiB (the cleanup job runs after the reply).
      const message = await ok('POST', `/channels/${guild.general}/messages`, hoarder.token, {
        attachment_ids: [first.body.id],
      });
      const removed = await api('DELETE', `/channels/${guild.general}/messages/${message.id}`, {
        token: hoarder.token,
      });
      expect(removed.status).toBe(204);
      const firstUrl = `${server.url}${first.body.url as string}`;
      await waitFor(async () => (await fetch(firstUrl)).status === 404, "the deleted message's file is gone");
      // The job removes the file, then the row that counts it: retried slowly, within the upload rate limit.
      const again = await waitFor(
        async () => {
          const res = await upload(hoarder, 30 * 1024, 'after-delete.txt');
          return res.status === 413 ? null : res;
        },
        'the freed room takes an upload',
        20_000,
        2_000,
      );
      expect(again.status).toBe(201);
    });

    it('serves /metrics and /api/docs only on the internal listener when metrics.listen is set', async () => {
      const match = /"msg":"parley internal listener","url":"([^"]+)"/.exec(server.output());
      expect(match).not.toBeNull();
      const internal = (match as RegExpExecArray)[1];
      for (const path of ['/metrics', '/api/docs']) {
        const outside = await fetch(`${server.url}${path}`);
        expect(outside.status).toBe(404);
        expect(await outside.json()).toEqual({ code: 0, message: '404: Not Found' });
        expect((await fetch(`${internal}${path}`)).status).toBe(200);
      }
      expect(await (await fetch(`${internal}/metrics`)).text()).toContain('# TYPE');
      expect((await fetch(`${internal}/api/v1/users/@me`)).status).toBe(404);
    });

    it('answers the LiveKit webhook 404 when voice is off, without an error log per call', async () => {
      const before = server.output().length;
      for (let i = 0; i < 3; i++) {
        const res = await api('POST', '/voice/livekit/webhook', {
          raw: '{"event":"room_started"}',
          headers: { 'content-type': 'application/webhook+json', authorization: 'forged' },
        });
        expect(res.status).toBe(404);
        expect(res.body).toEqual({ code: expect.any(Number), message: expect.any(String) });
      }
      const logged = server.output().slice(before);
      expect(logged).not.toMatch(/"level":50/);
    });
  });
});

describe('security: sliding token lifetime (auth.token_ttl)', () => {
  const dir = tempDir();
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__AUTH__ARGON2: '{"memory_cost":1024,"time_cost":1,"parallelism":1}',
      PARLEY__AUTH__TOKEN_TTL: '3000',
    });
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  it('a token in use stays valid past its lifetime; an idle one expires', async () => {
    const api = (method: string, path: string, options?: CallOptions) =>
      call(server.url, method, path, options);
    const reg = await api('POST', '/auth/register', {
      body: { username: 'sliding', email: 'sliding@example.test', password: PASSWORD },
    });
    const active = reg.body.token as string;
    const idle = (await api('POST', '/auth/login', { body: { login: 'sliding', password: PASSWORD } })).body
      .token as string;
    // Only the active token is used; the listing drops the idle session once its lifetime has passed.
    let sessions: any[] = [];
    const deadline = Date.now() + 30_000;
    do {
      const res = await api('GET', '/users/@me/sessions', { token: active });
      expect(res.status).toBe(200);
      sessions = res.body;
      if (sessions.length === 1) break;
      await new Promise((r) => setTimeout(r, 50));
    } while (Date.now() < deadline);
    expect(sessions).toHaveLength(1);
    expect(sessions[0].current).toBe(true);
    expect((await api('GET', '/users/@me', { token: idle })).status).toBe(401);
    expect((await api('GET', '/users/@me', { token: active })).status).toBe(200);
  });
});
