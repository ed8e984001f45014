import { createHash, createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AccessToken, TokenVerifier } from 'livekit-server-sdk';
import sharp from 'sharp';
import { Client, type ServerProcess, startServer, tempDir, waitFor } from './harness';

const MAX_UPLOAD = 300_000;
const SECRET = 'e2e-media-signing-secret-0123456789abcdef';
const LK_KEY = 'APIe2e';
const LK_SECRET = 'e2e-livekit-secret-0123456789abcdefghij';
const VIEW_CHANNEL = 1n << 10n;
const ATTACH_FILES = 1n << 15n;
const SPEAK = 1n << 21n;

/** Every file under the store's root, except the staging directory of uploads in progress. */
function storedFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(path.slice(root.length + 1));
    }
  };
  walk(root);
  return out;
}

async function picture(width: number, height: number, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 13) % 256;
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .toFormat(format)
    .toBuffer();
}

/** Uploads, attachments, the media proxy, avatars, icons and voice, over HTTP against the compiled monolith. */
describe('media and voice (monolith, local file store)', () => {
  const dir = tempDir('parley-e2e-media-');
  const files = join(dir.path, 'files');
  let server: ServerProcess;
  let owner: Client;
  let member: Client;
  let outsider: Client;
  let memberUser: { id: string };
  let ownerUser: { id: string };
  let guildId: string;
  let generalId: string;
  let privateId: string;

  const raw = (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, init);

  async function upload(
    client: Client,
    channelId: string,
    body: Buffer,
    filename: string,
    type = 'image/png',
  ) {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(body)], { type }), filename);
    const res = await fetch(`${server.url}/api/v1/channels/${channelId}/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${client.token}` },
      body: form,
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  async function send(client: Client, channelId: string, attachmentIds: string[], content?: string) {
    return client.post(`/channels/${channelId}/messages`, {
      ...(content === undefined ? {} : { content }),
      attachment_ids: attachmentIds,
    });
  }

  async function sizeOf(res: Response): Promise<{ width?: number; height?: number; format?: string }> {
    return sharp(Buffer.from(await res.arrayBuffer())).metadata();
  }

  beforeAll(async () => {
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__STORAGE__LOCAL__PATH: files,
      PARLEY__STORAGE__MAX_UPLOAD_SIZE: String(MAX_UPLOAD),
      PARLEY__MEDIA__SIGNING_SECRET: SECRET,
      PARLEY__JOBS__POLL_INTERVAL: '50',
      PARLEY__VOICE__LIVEKIT__URL: 'wss://voice.example.test',
      PARLEY__VOICE__LIVEKIT__API_KEY: LK_KEY,
      PARLEY__VOICE__LIVEKIT__API_SECRET: LK_SECRET,
    });
    owner = new Client(server.url);
    member = new Client(server.url);
    outsider = new Client(server.url);
    ownerUser = await owner.register('media_owner');
    memberUser = await member.register('media_member');
    await outsider.register('media_outsider');
    const guild = await owner.post('/guilds', { name: 'Media guild' });
    guildId = guild.body.id;
    generalId = guild.body.channels[0].id;
    const invite = await owner.post(`/channels/${generalId}/invites`, {});
    expect((await member.post(`/invites/${invite.body.code}`)).status).toBe(200);
    const secret = await owner.post(`/guilds/${guildId}/channels`, {
      name: 'staff',
      permission_overwrites: [{ id: guildId, type: 0, deny: String(VIEW_CHANNEL) }],
    });
    privateId = secret.body.id;
  });

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  describe('uploads and the media proxy', () => {
    let url: string;
    let original: Buffer;

    it('uploads an image, attaches it to a message and serves it at a requested size', async () => {
      original = await picture(800, 400);
      const up = await upload(owner, generalId, original, 'wide picture.png', 'application/octet-stream');
      expect(up.status).toBe(201);
      expect(up.body).toMatchObject({
        filename: 'wide picture.png',
        size: original.length,
        content_type: 'image/png',
        width: 800,
        height: 400,
      });
      // Before a message claims it, the uploader's link is signed.
      expect(up.body.url).toMatch(/\?ex=[0-9a-f]+&hm=[0-9a-f]{64}$/);

      const message = await send(owner, generalId, [up.body.id], 'look');
      expect(message.status).toBe(200);
      const [attachment] = message.body.attachments;
      expect(attachment).toMatchObject({
        id: up.body.id,
        width: 800,
        height: 400,
        content_type: 'image/png',
      });
      // A channel @everyone can view: a plain, cacheable path.
      url = attachment.url;
      expect(url).toBe(`/media/attachments/${generalId}/${up.body.id}/wide%20picture.png`);
      const history = await owner.get(`/channels/${generalId}/messages`);
      expect(history.body[0].attachments[0].url).toBe(url);

      const small = await raw(`${url}?width=200`);
      expect(small.status).toBe(200);
      expect(small.headers.get('content-type')).toBe('image/png');
      expect(await sizeOf(small)).toMatchObject({ width: 200, height: 100, format: 'png' });

      const boxed = await raw(`${url}?width=300&height=50&format=webp`);
      expect(boxed.headers.get('content-type')).toBe('image/webp');
      expect(await sizeOf(boxed)).toMatchObject({ width: 100, height: 50, format: 'webp' });

      const huge = await raw(`${url}?width=100000&format=jpeg`);
      expect(await sizeOf(huge)).toMatchObject({ width: 800, height: 400, format: 'jpeg' });

      expect((await raw(`${url}?width=abc`)).status).toBe(400);
    });

    it('serves the original with ETag, Cache-Control and byte ranges', async () => {
      const res = await raw(url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(original)).toBe(true);
      const etag = res.headers.get('etag')!;
      expect(etag).toMatch(/^".+"$/);
      expect(res.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');

      const again = await raw(url, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);

      const part = await raw(url, { headers: { range: 'bytes=10-19' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 10-19/${original.length}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(original.subarray(10, 20))).toBe(true);

      const tail = await raw(url, { headers: { range: 'bytes=-5' } });
      expect(Buffer.from(await tail.arrayBuffer()).equals(original.subarray(-5))).toBe(true);
      const beyond = await raw(url, { headers: { range: `bytes=${original.length}-` } });
      expect(beyond.status).toBe(416);
      expect(beyond.headers.get('content-range')).toBe(`bytes */${original.length}`);

      const resizedEtag = (await raw(`${url}?width=50`)).headers.get('etag')!;
      expect(resizedEtag).not.toBe(etag);
      expect((await raw(`${url}?width=50`, { headers: { 'if-none-match': resizedEtag } })).status).toBe(304);
    });

    it('answers 404 for unknown files and wrong names', async () => {
      const [, , , channelId, attachmentId] = url.split('/');
      expect((await raw(`/media/attachments/${channelId}/${attachmentId}/other.png`)).status).toBe(404);
      expect((await raw(`/media/attachments/${channelId}/1234567890123456789/x.png`)).status).toBe(404);
      expect((await raw(`/media/attachments/${privateId}/${attachmentId}/wide%20picture.png`)).status).toBe(
        404,
      );
    });
  });

  describe('private channels', () => {
    let signedUrl: string;
    let path: string;

    it('gives signed, expiring URLs that work without credentials; unsigned ones get 403', async () => {
      const up = await upload(owner, privateId, await picture(64, 64), 'secret.png');
      expect(up.status).toBe(201);
      const message = await send(owner, privateId, [up.body.id]);
      expect(message.status).toBe(200);
      signedUrl = message.body.attachments[0].url;
      expect(signedUrl).toMatch(
        /^\/media\/attachments\/\d+\/\d+\/secret\.png\?ex=[0-9a-f]+&hm=[0-9a-f]{64}$/,
      );
      path = signedUrl.split('?')[0];

      const ok = await raw(`${signedUrl}&width=32`);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('cache-control')).toMatch(/^private, max-age=\d+$/);
      expect(await sizeOf(ok)).toMatchObject({ width: 32, height: 32 });
    });

    it('a non-member cannot reach the file: no history, and the bare path is 403', async () => {
      expect((await outsider.get(`/channels/${privateId}/messages`)).status).toBe(404);
      expect((await member.get(`/channels/${privateId}/messages`)).status).toBe(404);
      const res = await raw(path);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ code: expect.any(Number), message: expect.any(String) });
      expect((await raw(`${path}?width=10`)).status).toBe(403);
    });

    it('refuses tampered and expired signatures with 403', async () => {
      const { searchParams } = new URL(signedUrl, 'http://x');
      const ex = searchParams.get('ex')!;
      const hm = searchParams.get('hm')!;
      expect(
        (await raw(`${path}?ex=${ex}&hm=${hm.replace(/.$/, (c) => (c === '0' ? '1' : '0'))}`)).status,
      ).toBe(403);
      expect((await raw(`${path}?ex=${(parseInt(ex, 16) + 1).toString(16)}&hm=${hm}`)).status).toBe(403);
      const past = Math.floor(Date.now() / 1000 - 60).toString(16);
      const mac = createHmac('sha256', SECRET).update(`${path}\n${past}`).digest('hex');
      const expired = await raw(`${path}?ex=${past}&hm=${mac}`);
      expect(expired.status).toBe(403);
      expect(((await expired.json()) as { message: string }).message).toMatch(/expired/);
    });
  });

  describe('bad input', () => {
    it('refuses an oversize upload with 413 and stores nothing', async () => {
      const before = storedFiles(files).filter((f) => !f.startsWith('.incoming'));
      const big = Buffer.alloc(MAX_UPLOAD + 1, 7);
      const res = await upload(owner, generalId, big, 'big.bin', 'application/octet-stream');
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ code: 40005 });
      const after = storedFiles(files);
      expect(after.filter((f) => !f.startsWith('.incoming'))).toEqual(before);
      expect(after.filter((f) => f.startsWith('.incoming'))).toEqual([]);
    });

    it('accepts a file of exactly the limit', async () => {
      const res = await upload(
        owner,
        generalId,
        Buffer.alloc(MAX_UPLOAD, 1),
        'exact.bin',
        'application/octet-stream',
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ size: MAX_UPLOAD, content_type: 'application/octet-stream' });
    });

    it('never resizes a file that only claims to be an image: it is served as a download', async () => {
      const fake = Buffer.from('this is text wearing a .png name\n');
      const up = await upload(owner, generalId, fake, 'photo.png', 'image/png');
      expect(up.status).toBe(201);
      expect(up.body.content_type).toBe('text/plain; charset=utf-8');
      expect(up.body.width).toBeUndefined();
      const message = await send(owner, generalId, [up.body.id]);
      const res = await raw(`${message.body.attachments[0].url}?width=100&format=webp`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(Buffer.from(await res.arrayBuffer()).equals(fake)).toBe(true);

      // A real PNG signature over garbage: recorded as an opaque download too.
      const broken = Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        Buffer.alloc(100, 3),
      ]);
      const up2 = await upload(owner, generalId, broken, 'broken.png');
      expect(up2.body).toMatchObject({ content_type: 'application/octet-stream' });
      expect(up2.body.width).toBeUndefined();
    });

    it('refuses a request without a file part and a non-multipart, non-JSON body', async () => {
      const form = new FormData();
      form.append('note', 'no file here');
      const res = await fetch(`${server.url}/api/v1/channels/${generalId}/attachments`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner.token}` },
        body: form,
      });
      expect(res.status).toBe(400);
      // Presigned direct uploads need the S3 driver.
      const direct = await owner.post(`/channels/${generalId}/attachments`, {
        files: [{ filename: 'a.png', file_size: 10 }],
      });
      expect(direct.status).toBe(400);
    });

    it("takes only the sender's unused uploads of the same channel", async () => {
      const mine = await upload(member, generalId, await picture(10, 10), 'm.png');
      expect(mine.status).toBe(201);
      const elsewhere = await upload(owner, generalId, await picture(10, 10), 'o.png');
      expect((await send(member, generalId, [elsewhere.body.id], 'steal')).status).toBe(400);
      expect((await send(member, generalId, ['1234567890123456789'], 'ghost')).status).toBe(400);
      const ownerPrivate = await upload(owner, privateId, await picture(10, 10), 'p.png');
      expect((await send(owner, generalId, [ownerPrivate.body.id], 'cross')).status).toBe(400);
      expect((await send(member, generalId, [mine.body.id])).status).toBe(200);
      const reuse = await send(member, generalId, [mine.body.id], 'again');
      expect(reuse.status).toBe(400);
      expect(reuse.body.errors).toHaveProperty(['attachment_ids.0']);
      // A failed message gives its claims back: the owner can still use the upload that was refused above.
      expect((await send(owner, generalId, [elsewhere.body.id])).status).toBe(200);
    });

    it('enforces ATTACH_FILES on upload and on message create', async () => {
      const before = await upload(member, generalId, await picture(10, 10), 'before.png');
      expect(before.status).toBe(201);
      const roles = await owner.get(`/guilds/${guildId}/roles`);
      const everyone = roles.body.find((r: { id: string }) => r.id === guildId);
      const without = (BigInt(everyone.permissions) & ~ATTACH_FILES).toString();
      expect(
        (await owner.patch(`/guilds/${guildId}/roles/${guildId}`, { permissions: without })).status,
      ).toBe(200);
      try {
        expect((await upload(member, generalId, await picture(10, 10), 'x.png')).status).toBe(403);
        expect((await send(member, generalId, [before.body.id], 'x')).status).toBe(403);
        expect(
          (await member.post(`/channels/${generalId}/messages`, { content: 'text is fine' })).status,
        ).toBe(200);
      } finally {
        await owner.patch(`/guilds/${guildId}/roles/${guildId}`, { permissions: everyone.permissions });
      }
    });
  });

  describe('cleanup', () => {
    it('deleting a message deletes its files through the job queue', async () => {
      const up = await upload(owner, generalId, await picture(20, 20), 'gone.png');
      const message = await send(owner, generalId, [up.body.id]);
      const url = message.body.attachments[0].url;
      expect((await raw(url)).status).toBe(200);
      const key = `attachments/${generalId}/${up.body.id}`;
      expect(storedFiles(files)).toContain(key);
      expect((await owner.delete(`/channels/${generalId}/messages/${message.body.id}`)).status).toBe(204);
      await waitFor(() => !storedFiles(files).includes(key), 'the file to be deleted');
      await waitFor(async () => (await raw(url)).status === 404, 'the media proxy to answer 404');
    });

    it('deleting a channel deletes all its files, attached or not', async () => {
      const channel = await owner.post(`/guilds/${guildId}/channels`, { name: 'temporary' });
      const a = await upload(owner, channel.body.id, await picture(20, 20), 'a.png');
      await send(owner, channel.body.id, [a.body.id]);
      await upload(owner, channel.body.id, await picture(20, 20), 'b.png');
      const prefix = `attachments/${channel.body.id}/`;
      expect(storedFiles(files).filter((f) => f.startsWith(prefix))).toHaveLength(2);
      expect((await owner.delete(`/channels/${channel.body.id}`)).status).toBe(200);
      await waitFor(() => storedFiles(files).every((f) => !f.startsWith(prefix)), 'the channel files to go');
    });
  });

  describe('avatars and guild icons', () => {
    async function put(client: Client, path: string, body: Buffer) {
      const form = new FormData();
      form.append('file', new Blob([new Uint8Array(body)], { type: 'image/png' }), 'avatar.png');
      const res = await fetch(`${server.url}/api/v1${path}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${client.token}` },
        body: form,
      });
      return { status: res.status, body: (await res.json()) as any };
    }

    it('sets an avatar served at any requested size, and replaces it', async () => {
      const first = await put(member, '/users/@me/avatar', await picture(300, 300, 'jpeg'));
      expect(first.status).toBe(200);
      expect(first.body.avatar).toMatch(/^[0-9a-f]{32}$/);
      expect((await member.get('/users/@me')).body.avatar).toBe(first.body.avatar);
      const avatarUrl = `/media/avatars/${memberUser.id}/${first.body.avatar}.png`;
      const res = await raw(`${avatarUrl}?size=64`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toContain('immutable');
      expect(await sizeOf(res)).toMatchObject({ width: 64, height: 64, format: 'png' });
      expect(
        await sizeOf(await raw(`/media/avatars/${memberUser.id}/${first.body.avatar}.webp`)),
      ).toMatchObject({
        format: 'webp',
        width: 300,
      });

      const second = await put(member, '/users/@me/avatar', await picture(100, 100));
      expect(second.body.avatar).not.toBe(first.body.avatar);
      expect((await raw(avatarUrl)).status).toBe(404);
      const cleared = await member.delete('/users/@me/avatar');
      expect(cleared.status).toBe(200);
      expect(cleared.body.avatar).toBeNull();
      expect((await put(member, '/users/@me/avatar', Buffer.from('not an image'))).status).toBe(400);
    });

    it('lets MANAGE_GUILD set the guild icon, and nobody else', async () => {
      expect((await put(member, `/guilds/${guildId}/icon`, await picture(50, 50))).status).toBe(403);
      const set = await put(owner, `/guilds/${guildId}/icon`, await picture(50, 50));
      expect(set.status).toBe(200);
      expect(set.body.icon).toMatch(/^[0-9a-f]{32}$/);
      const icon = await raw(`/media/icons/${guildId}/${set.body.icon}.png`);
      expect(icon.status).toBe(200);
      expect(await sizeOf(icon)).toMatchObject({ width: 50, height: 50 });
      expect((await raw(`/media/icons/${guildId}/${'0'.repeat(32)}.png`)).status).toBe(404);
    });
  });

  describe('external image proxy', () => {
    let target: Server;
    let hits = 0;
    beforeAll(async () => {
      target = createServer((_req, res) => {
        hits++;
        res.writeHead(200, { 'content-type': 'image/png' }).end();
      });
      await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      await new Promise((resolve) => target.close(resolve));
    });

    const externalPath = (url: string) => {
      const encoded = Buffer.from(url).toString('base64url');
      const mac = createHmac('sha256', SECRET).update(`external\n${encoded}`).digest('hex');
      return { encoded, mac };
    };

    it('refuses loopback destinations, even with a valid signature, without fetching them', async () => {
      const port = (target.address() as AddressInfo).port;
      for (const url of [
        `http://127.0.0.1:${port}/x.png`,
        `http://localhost:${port}/x.png`,
        `http://[::1]:${port}/x.png`,
      ]) {
        const { encoded, mac } = externalPath(url);
        const res = await raw(`/media/external/${encoded}?hm=${mac}`);
        expect(res.status).toBe(403);
      }
      expect(hits).toBe(0);
    });

    it('refuses unsigned external URLs (it is not an open proxy)', async () => {
      const { encoded } = externalPath('http://example.test/x.png');
      expect((await raw(`/media/external/${encoded}`)).status).toBe(403);
      expect((await raw(`/media/external/${encoded}?hm=${'0'.repeat(64)}`)).status).toBe(403);
    });
  });

  describe('voice', () => {
    let voiceId: string;

    beforeAll(async () => {
      const channel = await owner.post(`/guilds/${guildId}/channels`, { name: 'Lounge', type: 2 });
      voiceId = channel.body.id;
    });

    it('hands out a LiveKit token with the channel as room and the user as identity', async () => {
      const res = await member.post(`/channels/${voiceId}/voice/join`);
      expect(res.status).toBe(200);
      expect(res.body.url).toBe('wss://voice.example.test');
      const claims = await new TokenVerifier(LK_KEY, LK_SECRET).verify(res.body.token);
      expect(claims.sub).toBe(memberUser.id);
      expect(claims.video).toMatchObject({ room: voiceId, roomJoin: true, canPublish: true });
    });

    it('grants no publishing without SPEAK and no token without CONNECT or outside voice channels', async () => {
      expect(
        (
          await owner.put(`/channels/${voiceId}/permissions/${memberUser.id}`, {
            type: 1,
            deny: String(SPEAK),
          })
        ).status,
      ).toBe(204);
      const muted = await member.post(`/channels/${voiceId}/voice/join`);
      const claims = await new TokenVerifier(LK_KEY, LK_SECRET).verify(muted.body.token);
      expect(claims.video).toMatchObject({ roomJoin: true, canPublish: false });
      await owner.put(`/channels/${voiceId}/permissions/${memberUser.id}`, {
        type: 1,
        deny: String((1n << 20n) | SPEAK),
      });
      expect((await member.post(`/channels/${voiceId}/voice/join`)).status).toBe(403);
      expect((await member.post(`/channels/${generalId}/voice/join`)).status).toBe(400);
      expect((await outsider.post(`/channels/${voiceId}/voice/join`)).status).toBe(404);
      // The owner has every permission.
      expect((await owner.post(`/channels/${voiceId}/voice/join`)).status).toBe(200);
    });

    it('accepts LiveKit webhooks only with a valid signature', async () => {
      const body = JSON.stringify({
        event: 'participant_joined',
        room: { name: voiceId },
        participant: { sid: 'PA_x', identity: ownerUser.id },
      });
      const sign = async (secret: string) => {
        const token = new AccessToken(LK_KEY, secret);
        token.sha256 = createHash('sha256').update(body).digest('base64');
        return token.toJwt();
      };
      const post = async (authorization?: string) =>
        raw('/api/v1/voice/livekit/webhook', {
          method: 'POST',
          headers: {
            'content-type': 'application/webhook+json',
            ...(authorization ? { authorization } : {}),
          },
          body,
        });
      expect((await post(await sign(LK_SECRET))).status).toBe(200);
      expect((await post(await sign('some-other-secret-0123456789abcdefgh'))).status).toBe(401);
      expect((await post()).status).toBe(401);
    });
  });
});
