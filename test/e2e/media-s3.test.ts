import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { type S3Server, startS3Server } from '../integration/media/s3-server';
import { Client, type ServerProcess, startServer, tempDir } from './harness';

const MAX_UPLOAD = 200_000;
const QUOTA = 300_000;

/** The same upload and proxy paths with storage.driver=s3 against a local S3-protocol server process. */
describe('media on the S3 driver (monolith + s3rver)', () => {
  const dir = tempDir('parley-e2e-media-s3-');
  let s3: S3Server;
  let server: ServerProcess;
  let owner: Client;
  let channelId: string;
  let bucket: S3Client;

  const raw = (path: string, init: RequestInit = {}) => fetch(`${server.url}${path}`, init);
  const keys = async () =>
    ((await bucket.send(new ListObjectsV2Command({ Bucket: s3.bucket }))).Contents ?? []).map((o) => o.Key);

  beforeAll(async () => {
    s3 = await startS3Server();
    bucket = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    server = await startServer({
      PARLEY__DATABASE__SQLITE__PATH: `${dir.path}/parley.db`,
      PARLEY__RATE_LIMITS__ENABLED: 'false',
      PARLEY__STORAGE__DRIVER: 's3',
      PARLEY__STORAGE__MAX_UPLOAD_SIZE: String(MAX_UPLOAD),
      PARLEY__MEDIA__USER_QUOTA: String(QUOTA),
      PARLEY__STORAGE__S3__ENDPOINT: s3.endpoint,
      PARLEY__STORAGE__S3__BUCKET: s3.bucket,
      PARLEY__STORAGE__S3__REGION: 'us-east-1',
      PARLEY__STORAGE__S3__ACCESS_KEY_ID: 'S3RVER',
      PARLEY__STORAGE__S3__SECRET_ACCESS_KEY: 'S3RVER',
      PARLEY__STORAGE__S3__FORCE_PATH_STYLE: 'true',
    });
    owner = new Client(server.url);
    await owner.register('s3_owner');
    channelId = (await owner.post('/guilds', { name: 'S3 guild' })).body.channels[0].id;
  });

  afterAll(async () => {
    await server?.stop();
    bucket?.destroy();
    await s3?.stop();
    dir.remove();
  });

  const png = (width: number, height: number) =>
    sharp({ create: { width, height, channels: 3, background: '#c33' } })
      .png()
      .toBuffer();

  it('streams a multipart upload into the bucket and serves it resized', async () => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(await png(400, 300))]), 'tile.png');
    const res = await fetch(`${server.url}/api/v1/channels/${channelId}/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}` },
      body: form,
    });
    const up = (await res.json()) as { id: string; width: number };
    expect(res.status).toBe(201);
    expect(up.width).toBe(400);
    expect(await keys()).toContain(`attachments/${channelId}/${up.id}`);
    const message = await owner.post(`/channels/${channelId}/messages`, { attachment_ids: [up.id] });
    const resized = await raw(`${message.body.attachments[0].url}?width=100`);
    expect(resized.status).toBe(200);
    expect(await sharp(Buffer.from(await resized.arrayBuffer())).metadata()).toMatchObject({
      width: 100,
      height: 75,
    });
    const part = await raw(message.body.attachments[0].url, { headers: { range: 'bytes=0-7' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).toString('latin1', 1, 4)).toBe('PNG');
  });

  it('refuses an oversize upload with 413 and leaves nothing in the bucket', async () => {
    const before = await keys();
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(Buffer.alloc(MAX_UPLOAD + 1))]), 'big.bin');
    const res = await fetch(`${server.url}/api/v1/channels/${channelId}/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}` },
      body: form,
    });
    expect(res.status).toBe(413);
    expect(await keys()).toEqual(before);
  });

  it('hands out presigned direct uploads and records them once completed', async () => {
    const body = await png(64, 32);
    const direct = await owner.post(`/channels/${channelId}/attachments`, {
      files: [{ filename: 'direct.png', file_size: body.length }],
    });
    expect(direct.status).toBe(201);
    const [slot] = direct.body.attachments;
    expect(slot.upload_url).toContain('X-Amz-Signature=');
    const put = await fetch(slot.upload_url, { method: 'PUT', headers: slot.upload_headers, body });
    expect(put.status).toBe(200);

    expect(
      (await owner.post(`/channels/${channelId}/attachments/complete`, { upload_token: 'x.y' })).status,
    ).toBe(400);
    const done = await owner.post(`/channels/${channelId}/attachments/complete`, {
      upload_token: slot.upload_token,
    });
    expect(done.status).toBe(201);
    expect(done.body).toMatchObject({ id: slot.id, content_type: 'image/png', width: 64, height: 32 });
    const message = await owner.post(`/channels/${channelId}/messages`, { attachment_ids: [slot.id] });
    expect(message.status).toBe(200);
    const fetched = await raw(message.body.attachments[0].url);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(body)).toBe(true);

    const tooBig = await owner.post(`/channels/${channelId}/attachments`, {
      files: [{ filename: 'huge.bin', file_size: MAX_UPLOAD + 1 }],
    });
    expect(tooBig.status).toBe(413);
  });

  it('holds presigned uploads to the per-user quota when asked and again when completed', async () => {
    const hoarder = new Client(server.url);
    await hoarder.register('s3_hoarder');
    const channel = (await hoarder.post('/guilds', { name: 'quota guild' })).body.channels[0].id as string;
    const declared = await hoarder.post(`/channels/${channel}/attachments`, {
      files: [
        { filename: 'a.bin', file_size: 180_000 },
        { filename: 'b.bin', file_size: 180_000 },
      ],
    });
    expect(declared.status).toBe(413);
    expect(declared.body).toMatchObject({
      code: 40005,
      errors: { file: [{ code: 'UPLOAD_QUOTA_EXCEEDED' }] },
    });

    const direct = await hoarder.post(`/channels/${channel}/attachments`, {
      files: [{ filename: 'late.bin', file_size: 180_000 }],
    });
    expect(direct.status).toBe(201);
    const [slot] = direct.body.attachments;
    const put = await fetch(slot.upload_url, {
      method: 'PUT',
      headers: slot.upload_headers,
      body: new Uint8Array(180_000),
    });
    expect(put.status).toBe(200);
    // Meanwhile a multipart upload takes most of the room.
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(150_000)]), 'first.bin');
    const first = await fetch(`${server.url}/api/v1/channels/${channel}/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hoarder.token}` },
      body: form,
    });
    expect(first.status).toBe(201);
    const done = await hoarder.post(`/channels/${channel}/attachments/complete`, {
      upload_token: slot.upload_token,
    });
    expect(done.status).toBe(413);
    expect(done.body).toMatchObject({ code: 40005, errors: { file: [{ code: 'UPLOAD_QUOTA_EXCEEDED' }] } });
    expect(await keys()).not.toContain(`attachments/${channel}/${slot.id}`);
  });
});
