import { type Readable, Transform } from 'node:stream';
import type * as ClientS3 from '@aws-sdk/client-s3';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type * as LibStorage from '@aws-sdk/lib-storage';
import type * as Presigner from '@aws-sdk/s3-request-presigner';
import { lazy } from '@parley/common';
import type { ParleyConfig } from '@parley/config';
import {
  type ByteRange,
  type FileStore,
  FileTooLargeError,
  type PresignedUpload,
  type StoredFile,
} from '../file-store';

export type S3Settings = ParleyConfig['storage']['s3'];

const PART_SIZE = 5 * 1024 * 1024; // S3's minimum part size: at most this much of an upload is in memory

/** The AWS SDK (~6 MB of heap), loaded when an S3 store is created. */
const aws = lazy(() => ({
  /* eslint-disable @typescript-eslint/no-require-imports */
  ...(require('@aws-sdk/client-s3') as typeof ClientS3),
  Upload: (require('@aws-sdk/lib-storage') as typeof LibStorage).Upload,
  getSignedUrl: (require('@aws-sdk/s3-request-presigner') as typeof Presigner).getSignedUrl,
  /* eslint-enable @typescript-eslint/no-require-imports */
}));

function clientConfig(settings: S3Settings, endpoint: string): S3ClientConfig {
  return {
    endpoint,
    region: settings.region,
    forcePathStyle: settings.force_path_style,
    credentials: { accessKeyId: settings.access_key_id, secretAccessKey: settings.secret_access_key },
    // Many S3-compatible stores (older MinIO, Ceph, R2 and others) reject or mis-store the SDK's
    // newer default of streaming trailer checksums; sign with checksums only where S3 requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

/**
 * Files in an S3 bucket (AWS or any S3-compatible store). Uploads stream as a multipart upload, one
 * part in memory at a time; an upload that fails or passes its limit is aborted, so nothing is
 * left at the key. Presigned URLs are signed for `presigned_url_base` when set (the bucket's public
 * or CDN hostname) and for `endpoint` otherwise.
 */
export class S3FileStore implements FileStore {
  readonly driver = 's3' as const;
  private readonly client: S3Client;
  private readonly presigner: S3Client;
  private readonly bucket: string;

  constructor(settings: S3Settings) {
    this.bucket = settings.bucket;
    this.client = new (aws().S3Client)(clientConfig(settings, settings.endpoint));
    this.presigner = settings.presigned_url_base
      ? new (aws().S3Client)(clientConfig(settings, settings.presigned_url_base))
      : this.client;
  }

  async put(
    key: string,
    body: Readable,
    options: { maxBytes: number; contentType?: string },
  ): Promise<number> {
    let size = 0;
    let tooLarge = false;
    const limit = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > options.maxBytes) {
          tooLarge = true;
          done(new FileTooLargeError(options.maxBytes));
        } else done(null, chunk);
      },
    });
    body.once('error', (err) => limit.destroy(err));
    const upload = new (aws().Upload)({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: body.pipe(limit),
        ContentType: options.contentType ?? 'application/octet-stream',
      },
      partSize: PART_SIZE,
      queueSize: 1,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      await upload.abort().catch(() => undefined);
      // A small body goes up as one PutObject that may have completed before the limit tripped.
      if (tooLarge) {
        await this.delete([key]).catch(() => undefined);
        throw new FileTooLargeError(options.maxBytes);
      }
      throw err;
    }
    if (tooLarge) {
      await this.delete([key]);
      throw new FileTooLargeError(options.maxBytes);
    }
    return size;
  }

  async stat(key: string): Promise<StoredFile | null> {
    try {
      const head = await this.client.send(new (aws().HeadObjectCommand)({ Bucket: this.bucket, Key: key }));
      return {
        size: head.ContentLength ?? 0,
        etag: (head.ETag ?? '').replace(/"/g, ''),
        lastModified: head.LastModified?.getTime() ?? 0,
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const out = await this.client.send(
      new (aws().GetObjectCommand)({
        Bucket: this.bucket,
        Key: key,
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
    );
    return out.Body as Readable;
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      await this.client.send(
        new (aws().DeleteObjectsCommand)({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith('/')) throw new Error('a prefix ends with /');
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new (aws().ListObjectsV2Command)({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : []));
      if (keys.length > 0) await this.delete(keys);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async presignUpload(
    key: string,
    options: { size: number; contentType: string; expiresInSeconds: number },
  ): Promise<PresignedUpload> {
    const command = new (aws().PutObjectCommand)({
      Bucket: this.bucket,
      Key: key,
      ContentLength: options.size,
      ContentType: options.contentType,
    });
    // Content-Length and Content-Type are signed: S3 refuses a body of another size.
    const url = await aws().getSignedUrl(this.presigner, command, {
      expiresIn: options.expiresInSeconds,
      signableHeaders: new Set(['content-length', 'content-type']),
    });
    return {
      url,
      method: 'PUT',
      headers: { 'content-type': options.contentType, 'content-length': String(options.size) },
    };
  }

  async ping(): Promise<void> {
    await this.client.send(new (aws().HeadBucketCommand)({ Bucket: this.bucket }));
  }

  close(): Promise<void> {
    this.client.destroy();
    if (this.presigner !== this.client) this.presigner.destroy();
    return Promise.resolve();
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}
