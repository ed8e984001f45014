import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type ByteRange,
  type FileStore,
  FileTooLargeError,
  type PresignedUpload,
  type StoredFile,
} from '../file-store';

/**
 * Files on the local disk under `storage.local.path`. A file is written to `.incoming/` first and
 * renamed into place only when complete, so a failed or oversize upload never leaves a partial file
 * at its key and readers never see one being written.
 */
export class LocalFileStore implements FileStore {
  readonly driver = 'local' as const;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async put(key: string, body: Readable, options: { maxBytes: number }): Promise<number> {
    const target = this.path(key);
    const incoming = join(this.root, '.incoming', randomUUID());
    // The body may fail while the directory is made; pipeline sees that error through `errored`.
    const hold = () => undefined;
    body.on('error', hold);
    await mkdir(dirname(incoming), { recursive: true });
    let size = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > options.maxBytes) done(new FileTooLargeError(options.maxBytes));
        else done(null, chunk);
      },
    });
    try {
      await pipeline(body, limit, createWriteStream(incoming, { flags: 'wx' }));
      await mkdir(dirname(target), { recursive: true });
      await rename(incoming, target);
      return size;
    } catch (err) {
      await unlink(incoming).catch(() => undefined);
      throw err;
    } finally {
      body.off('error', hold);
    }
  }

  async stat(key: string): Promise<StoredFile | null> {
    try {
      const s = await stat(this.path(key));
      if (!s.isFile()) return null;
      // Size and modification time change whenever the content does (files are only ever replaced whole).
      return {
        size: s.size,
        etag: `${s.size.toString(16)}-${Math.floor(s.mtimeMs).toString(16)}`,
        lastModified: s.mtimeMs,
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const stream = createReadStream(this.path(key), range ? { start: range.start, end: range.end } : {});
    // Surface a missing file as a rejection here rather than as a stream error mid-response.
    await new Promise<void>((ok, fail) => {
      stream.once('open', () => ok());
      stream.once('error', fail);
    });
    return stream;
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) await rm(this.path(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith('/')) throw new Error('a prefix ends with /');
    await rm(this.path(prefix.slice(0, -1)), { recursive: true, force: true });
  }

  presignUpload(): Promise<PresignedUpload | null> {
    return Promise.resolve(null);
  }

  async ping(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private path(key: string): string {
    const path = resolve(this.root, ...key.split('/'));
    // Keys are built by the media library, but a path outside the root is refused all the same.
    if (!path.startsWith(this.root + sep) || key.split('/').some((p) => p === '' || p === '.' || p === '..'))
      throw new Error(`bad file key ${key}`);
    return path;
  }
}
