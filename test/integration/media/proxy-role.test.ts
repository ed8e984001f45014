import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Permission } from '@parley/common';
import { loadConfig } from '@parley/config';
import { FILE_STORE, type FileStore, MediaProxyModule, MediaUrlSigner, fileKeys } from '@parley/media';
import { CoreModule, createHttpApp } from '@parley/platform';
import { STORAGE, type Storage } from '@parley/storage';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';

/**
 * The media-proxy role composed alone, as a separate process would be: CoreModule + MediaProxyModule,
 * no auth, chat, bus or api routes. Files and rows are seeded straight through the store and storage.
 */
describe('MediaProxyModule on its own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-proxy-role-'));
  let app: NestFastifyApplication;
  let http: FastifyInstance;
  let signer: MediaUrlSigner;
  const guildId = '1000000000000000001';
  const openId = '1000000000000000002';
  const closedId = '1000000000000000003';
  const ownerId = '1000000000000000004';
  let png: Buffer;

  beforeAll(async () => {
    const config = loadConfig({
      env: {
        PARLEY__DATABASE__SQLITE__PATH: join(dir, 'parley.db'),
        PARLEY__STORAGE__LOCAL__PATH: join(dir, 'files'),
        PARLEY__LOGGING__LEVEL: 'silent',
      },
    });
    @Module({ imports: [CoreModule.forRoot(config), MediaProxyModule] })
    class MediaProxyProcess {}
    app = await createHttpApp(config, MediaProxyProcess);
    await app.init();
    http = app.getHttpAdapter().getInstance();
    await http.ready();
    signer = app.get(MediaUrlSigner);

    const storage = app.get<Storage>(STORAGE);
    const files = app.get<FileStore>(FILE_STORE);
    const channel = (id: string, closed: boolean) => ({
      id,
      type: 0,
      guildId,
      name: id,
      topic: null,
      parentId: null,
      position: 0,
      recipients: [],
      overwrites: closed
        ? [
            {
              channelId: id,
              id: guildId,
              type: 0 as const,
              allow: '0',
              deny: String(Permission.VIEW_CHANNEL),
            },
          ]
        : [],
    });
    await storage.guilds.createWithDefaults(
      { id: guildId, name: 'g', icon: null, ownerId, createdAt: Date.now(), defaultMessageNotifications: 0 },
      {
        id: guildId,
        guildId,
        name: '@everyone',
        permissions: String(Permission.VIEW_CHANNEL),
        color: 0,
        position: 0,
        mentionable: false,
      },
      [channel(openId, false), channel(closedId, true)],
      { guildId, userId: ownerId, nick: null, roles: [], joinedAt: Date.now() },
    );
    png = await sharp({ create: { width: 120, height: 60, channels: 3, background: '#0a0' } })
      .png()
      .toBuffer();
    for (const [channelId, id] of [
      [openId, '2000000000000000001'],
      [closedId, '2000000000000000002'],
    ]) {
      await files.put(fileKeys.attachment(channelId, id), Readable.from([png]), { maxBytes: png.length });
      await storage.attachments.create({
        id,
        channelId,
        uploaderId: ownerId,
        messageId: '3000000000000000001',
        filename: 'pic.png',
        size: png.length,
        contentType: 'image/png',
        width: 120,
        height: 60,
        createdAt: Date.now(),
      });
    }
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a public channel file at a requested size', async () => {
    const res = await http.inject({
      url: `/media/attachments/${openId}/2000000000000000001/pic.png?width=60`,
    });
    expect(res.statusCode).toBe(200);
    expect(await sharp(res.rawPayload).metadata()).toMatchObject({ width: 60, height: 30 });
  });

  it('serves a closed channel file only with a signature', async () => {
    const path = `/media/attachments/${closedId}/2000000000000000002/pic.png`;
    expect((await http.inject({ url: path })).statusCode).toBe(403);
    const signed = await http.inject({ url: signer.sign(path) });
    expect(signed.statusCode).toBe(200);
    expect(signed.rawPayload.equals(png)).toBe(true);
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await http.inject({
      method: 'HEAD',
      url: `/media/attachments/${openId}/2000000000000000001/pic.png`,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(png.length));
    expect(res.headers.etag).toMatch(/^".+"$/);
    expect(res.rawPayload).toHaveLength(0);
  });

  it('has no api routes', async () => {
    const res = await http.inject({ method: 'POST', url: '/api/v1/auth/login', payload: {} });
    expect(res.statusCode).toBe(404);
  });
});
