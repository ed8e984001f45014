import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { type FileStore, FileTooLargeError, LocalFileStore, S3FileStore, fileKeys } from '@parley/media';
import { type S3Server, startS3Server } from './s3-server';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** A body produced chunk by chunk, as a network upload arrives. */
function chunked(data: Buffer, chunkSize = 64 * 1024): Readable {
  const out = new PassThrough();
  let offset = 0;
  const pump = () => {
    while (offset < data.length) {
      const chunk = data.subarray(offset, offset + chunkSize);
      offset += chunk.length;
      if (!out.write(chunk)) return out.once('drain', pump);
    }
    out.end();
  };
  setImmediate(pump);
  return out;
}

/** One behaviour for every driver: what the media library relies on. */
function describeFileStore(name: string, open: () => Promise<FileStore>, close: () => Promise<void>) {
  describe(`file store: ${name}`, () => {
    let store: FileStore;
    const channel = '1234567890123456789';
    let next = 100;
    const key = () => fileKeys.attachment(channel, String(next++));

    beforeAll(async () => {
      store = await open();
      await store.ping();
    });
    afterAll(async () => {
      await store.close();
      await close();
    });

    it('streams a multi-part sized file in and reads it back whole and by range', async () => {
      const data = randomBytes(6 * 1024 * 1024 + 123); // more than one S3 part
      const k = key();
      expect(await store.put(k, chunked(data), { maxBytes: 10 * 1024 * 1024 })).toBe(data.length);
      const stat = await store.stat(k);
      expect(stat).toMatchObject({ size: data.length, etag: expect.any(String) });
      expect((await collect(await store.read(k))).equals(data)).toBe(true);
      const part = await collect(await store.read(k, { start: 1000, end: 1999 }));
      expect(part.equals(data.subarray(1000, 2000))).toBe(true);
    });

    it('stores an empty file', async () => {
      const k = key();
      expect(await store.put(k, Readable.from([]), { maxBytes: 10 })).toBe(0);
      expect(await store.stat(k)).toMatchObject({ size: 0 });
    });

    it('refuses a body past maxBytes and leaves nothing at the key', async () => {
      const small = key();
      await expect(store.put(small, chunked(randomBytes(2048)), { maxBytes: 1024 })).rejects.toBeInstanceOf(
        FileTooLargeError,
      );
      expect(await store.stat(small)).toBeNull();
      const large = key();
      await expect(
        store.put(large, chunked(randomBytes(7 * 1024 * 1024)), { maxBytes: 5 * 1024 * 1024 + 10 }),
      ).rejects.toBeInstanceOf(FileTooLargeError);
      expect(await store.stat(large)).toBeNull();
    });

    it('leaves nothing when the incoming stream fails', async () => {
      const k = key();
      const body = new PassThrough();
      const put = store.put(k, body, { maxBytes: 1024 * 1024 });
      body.write(randomBytes(1000));
      setImmediate(() => body.destroy(new Error('client went away')));
      await expect(put).rejects.toThrow();
      expect(await store.stat(k)).toBeNull();
    });

    it('reports missing files and deletes by key and by prefix', async () => {
      expect(await store.stat(key())).toBeNull();
      await expect(store.read(key())).rejects.toThrow();
      const other = fileKeys.attachment('999', '1');
      const mine = [key(), key(), key()];
      for (const k of [...mine, other])
        await store.put(k, Readable.from([Buffer.from('x')]), { maxBytes: 10 });
      await store.delete([mine[0], key()]);
      expect(await store.stat(mine[0])).toBeNull();
      expect(await store.stat(mine[1])).not.toBeNull();
      await store.deletePrefix(fileKeys.channelAttachments(channel));
      for (const k of mine) expect(await store.stat(k)).toBeNull();
      expect(await store.stat(other)).not.toBeNull();
      await store.deletePrefix(fileKeys.channelAttachments('424242')); // nothing there: fine
    });
  });
}

describe('file stores', () => {
  const localDir = mkdtempSync(join(tmpdir(), 'parley-files-'));
  describeFileStore(
    'local',
    () => Promise.resolve(new LocalFileStore(localDir)),
    () => {
      // No leftovers from failed uploads.
      expect(readdirSync(join(localDir, '.incoming'))).toEqual([]);
      rmSync(localDir, { recursive: true, force: true });
      return Promise.resolve();
    },
  );

  let s3: S3Server | undefined;
  const settings = (server: S3Server, presignedBase = '') => ({
    endpoint: server.endpoint,
    bucket: server.bucket,
    region: 'us-east-1',
    access_key_id: 'S3RVER',
    secret_access_key: 'S3RVER',
    force_path_style: true,
    presigned_url_base: presignedBase,
  });
  describeFileStore(
    's3 (s3rver process on loopback)',
    async () => {
      s3 = await startS3Server();
      return new S3FileStore(settings(s3));
    },
    async () => {
      await s3?.stop();
    },
  );

  describe('s3 presigned uploads', () => {
    let server: S3Server;
    let store: S3FileStore;
    beforeAll(async () => {
      server = await startS3Server();
      store = new S3FileStore(settings(server));
    });
    afterAll(async () => {
      await store.close();
      await server.stop();
    });

    it('hands out a PUT URL that stores the file under the key', async () => {
      const k = fileKeys.attachment('55', '66');
      const body = randomBytes(3000);
      const presigned = await store.presignUpload(k, {
        size: body.length,
        contentType: 'application/octet-stream',
        expiresInSeconds: 300,
      });
      expect(presigned.url.startsWith(`${server.endpoint}/${server.bucket}/`)).toBe(true);
      expect(presigned.url).toContain('X-Amz-Signature=');
      const res = await fetch(presigned.url, { method: 'PUT', headers: presigned.headers, body });
      expect(res.status).toBe(200);
      expect((await collect(await store.read(k))).equals(body)).toBe(true);
    });

    it('signs for presigned_url_base when one is configured', async () => {
      const cdn = new S3FileStore(settings(server, 'https://files.example.test'));
      const presigned = await cdn.presignUpload(fileKeys.attachment('55', '67'), {
        size: 1,
        contentType: 'application/octet-stream',
        expiresInSeconds: 60,
      });
      expect(presigned.url.startsWith(`https://files.example.test/${server.bucket}/`)).toBe(true);
      await cdn.close();
    });
  });
});
