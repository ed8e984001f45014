import { Inject, Injectable } from '@nestjs/common';
import {
  type AttachmentDto,
  BadRequestError,
  ChannelType,
  ForbiddenError,
  Permission,
  PayloadTooLargeError,
  SnowflakeGenerator,
  ValidationError,
  wrongChannelType,
} from '@parley/common';
import { AccessService, type ChannelAccess, attachmentPath } from '@parley/chat';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { type AttachmentRecord, STORAGE, type Storage } from '@parley/storage';
import type {} from '@fastify/multipart'; // request.file() and request.isMultipart()
import type { FastifyRequest } from 'fastify';
import { FILE_STORE, type FileStore, FileTooLargeError, fileKeys } from './file-store';
import { HeadCapture } from './head-capture';
import { cleanFilename } from './http-files';
import { MediaUrlSigner } from './url-signer';
import { IMAGE_TYPES, SNIFF_BYTES, probeImage, sniff } from './sniff';

/** Room for the multipart envelope around the file when judging a request by its Content-Length. */
const MULTIPART_OVERHEAD = 64 * 1024;
const UPLOAD_TOKEN = 'upload';

export interface DirectUploadDto {
  id: string;
  upload_url: string;
  upload_method: 'PUT';
  upload_headers: Record<string, string>;
  upload_token: string;
  expires_at: string;
}

interface UploadClaim {
  i: string; // attachment id
  c: string; // channel
  u: string; // uploader
  n: string; // file name
  s: number; // declared size
  e: number; // expiry, epoch ms
}

/**
 * Uploads into a channel: streamed multipart (any driver) and presigned direct uploads (S3). The
 * content type is sniffed from the first bytes; an image is one only if its header parses, and only
 * then does it get a width and height (and may be resized by the media proxy).
 */
@Injectable()
export class AttachmentService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(FILE_STORE) private readonly files: FileStore,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly ids: SnowflakeGenerator,
    private readonly access: AccessService,
    private readonly signer: MediaUrlSigner,
  ) {}

  async upload(channelId: string, userId: string, request: FastifyRequest): Promise<AttachmentDto> {
    const access = await this.access.requireChannel(channelId, userId, Permission.ATTACH_FILES);
    if (access.channel.type === ChannelType.CATEGORY) throw wrongChannelType('other');
    const room = await this.quotaRoom(userId);
    const max = Math.min(this.config.storage.max_upload_size, room);
    const tooLarge = () =>
      max < this.config.storage.max_upload_size
        ? this.quotaExceeded()
        : new PayloadTooLargeError(`Files are limited to ${max} bytes`);
    // An honest Content-Length that cannot fit is refused before a byte is read.
    if (room === 0 || Number(request.headers['content-length'] ?? 0) > max + MULTIPART_OVERHEAD)
      throw tooLarge();
    const part = await request.file({
      limits: { fileSize: max, files: 1, fields: 10, fieldSize: 4096, parts: 20, headerPairs: 100 },
    });
    if (!part || part.fieldname !== 'file') {
      part?.file.resume();
      throw ValidationError.field(
        'file',
        'BASE_TYPE_REQUIRED',
        'Send the file in a multipart field named "file"',
      );
    }
    const id = this.ids.next();
    const key = fileKeys.attachment(access.channel.id, id);
    const capture = new HeadCapture(SNIFF_BYTES);
    part.file.once('error', (err: Error) => capture.destroy(err));
    let size: number;
    try {
      size = await this.files.put(key, part.file.pipe(capture), { maxBytes: max });
    } catch (err) {
      if (err instanceof FileTooLargeError || (err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
        throw tooLarge();
      throw err;
    }
    // busboy cuts a file at the limit and says so afterwards; the store counted the same bytes.
    if (part.file.truncated) {
      await this.files.delete([key]);
      throw tooLarge();
    }
    return this.record(access, userId, id, key, cleanFilename(part.filename), size, capture.head);
  }

  /** Presigned PUT URLs for files the client sends straight to the bucket (S3 driver only). */
  async directUploads(
    channelId: string,
    userId: string,
    files: { filename: string; file_size: number }[],
  ): Promise<{ attachments: DirectUploadDto[] }> {
    const access = await this.access.requireChannel(channelId, userId, Permission.ATTACH_FILES);
    if (access.channel.type === ChannelType.CATEGORY) throw wrongChannelType('other');
    const max = this.config.storage.max_upload_size;
    files.forEach((f, index) => {
      if (f.file_size > max) {
        const err = new PayloadTooLargeError(`Files are limited to ${max} bytes`);
        err.errors = {
          [`files.${index}.file_size`]: [{ code: 'FILE_TOO_LARGE', message: `At most ${max} bytes` }],
        };
        throw err;
      }
    });
    const declared = files.reduce((sum, f) => sum + f.file_size, 0);
    if (declared > (await this.quotaRoom(userId))) throw this.quotaExceeded();
    const ttlSeconds = Math.ceil(this.config.media.upload_url_ttl / 1000);
    const expires = Date.now() + ttlSeconds * 1000;
    const out: DirectUploadDto[] = [];
    for (const f of files) {
      const id = this.ids.next();
      const presigned = await this.files.presignUpload(fileKeys.attachment(access.channel.id, id), {
        size: f.file_size,
        contentType: 'application/octet-stream',
        expiresInSeconds: ttlSeconds,
      });
      if (!presigned)
        throw new BadRequestError(
          'Direct uploads need storage.driver "s3"; send the file as multipart instead',
        );
      const claim: UploadClaim = {
        i: id,
        c: access.channel.id,
        u: userId,
        n: cleanFilename(f.filename),
        s: f.file_size,
        e: expires,
      };
      const payload = Buffer.from(JSON.stringify(claim)).toString('base64url');
      out.push({
        id,
        upload_url: presigned.url,
        upload_method: presigned.method,
        upload_headers: presigned.headers,
        upload_token: `${payload}.${this.signer.macFor(UPLOAD_TOKEN, payload)}`,
        expires_at: new Date(expires).toISOString(),
      });
    }
    return { attachments: out };
  }

  /** After a direct upload: checks what landed in the bucket and records it like a multipart upload. */
  async completeDirectUpload(channelId: string, userId: string, token: string): Promise<AttachmentDto> {
    const access = await this.access.requireChannel(channelId, userId, Permission.ATTACH_FILES);
    if (access.channel.type === ChannelType.CATEGORY) throw wrongChannelType('other');
    const [payload, mac] = token.split('.');
    if (!payload || !this.signer.verifyMacFor(UPLOAD_TOKEN, payload, mac))
      throw ValidationError.field('upload_token', 'BASE_TYPE_INVALID', 'Not an upload token');
    const claim = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as UploadClaim;
    if (claim.c !== access.channel.id || claim.u !== userId) throw new ForbiddenError('Not your upload');
    const existing = await this.storage.attachments.find(claim.i);
    if (existing) return this.toDto(access, existing);
    const key = fileKeys.attachment(claim.c, claim.i);
    const stat = await this.files.stat(key);
    if (!stat)
      throw ValidationError.field('upload_token', 'UPLOAD_MISSING', 'Nothing was uploaded with this token');
    if (stat.size > this.config.storage.max_upload_size || stat.size !== claim.s) {
      await this.files.delete([key]);
      throw new PayloadTooLargeError('The uploaded file is not the declared size or is too large');
    }
    // Checked again on completion: other uploads may have used the room since the URL was handed out.
    if (stat.size > (await this.quotaRoom(userId))) {
      await this.files.delete([key]);
      throw this.quotaExceeded();
    }
    const head = await this.readHead(key, stat.size);
    return this.record(access, userId, claim.i, key, claim.n, stat.size, head);
  }

  /**
   * Bytes the user may still upload under media.user_quota (Infinity when unlimited). Read from the stored
   * usage, one row: uploads racing each other may overshoot by at most the files in flight.
   */
  private async quotaRoom(userId: string): Promise<number> {
    const quota = this.config.media.user_quota;
    if (quota === 0) return Number.POSITIVE_INFINITY;
    return Math.max(0, quota - (await this.storage.attachments.usage(userId)));
  }

  private quotaExceeded(): PayloadTooLargeError {
    const quota = this.config.media.user_quota;
    const err = new PayloadTooLargeError(
      `Your uploads would exceed your storage quota of ${quota} bytes; delete some files to make room`,
    );
    err.errors = { file: [{ code: 'UPLOAD_QUOTA_EXCEEDED', message: `At most ${quota} bytes in total` }] };
    return err;
  }

  private async readHead(key: string, size: number): Promise<Buffer> {
    if (size === 0) return Buffer.alloc(0);
    const stream = await this.files.read(key, { start: 0, end: Math.min(size, SNIFF_BYTES) - 1 });
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks).subarray(0, SNIFF_BYTES);
  }

  private async record(
    access: ChannelAccess,
    userId: string,
    id: string,
    key: string,
    filename: string,
    size: number,
    head: Buffer,
  ): Promise<AttachmentDto> {
    const record = uploadRecord(id, access.channel.id, userId, filename, size, head);
    try {
      await this.storage.attachments.create(record);
    } catch (err) {
      await this.files.delete([key]).catch(() => undefined);
      throw err;
    }
    return this.toDto(access, record);
  }

  private toDto(_access: ChannelAccess, a: AttachmentRecord): AttachmentDto {
    // Signed even in a public channel: until a message claims it, only the uploader has the URL.
    const url = this.signer.sign(attachmentPath(a.channelId, a));
    return {
      id: a.id,
      filename: a.filename,
      size: a.size,
      content_type: a.contentType,
      ...(a.width !== null ? { width: a.width } : {}),
      ...(a.height !== null ? { height: a.height } : {}),
      url,
    };
  }
}

/**
 * An upload's row: its type sniffed from the first bytes (never the sender's word), with width and height only
 * when it is an image whose header parses. Unclaimed until a message takes it.
 */
export function uploadRecord(
  id: string,
  channelId: string,
  uploaderId: string,
  filename: string,
  size: number,
  head: Buffer,
): AttachmentRecord {
  let contentType = sniff(head);
  const dimensions = IMAGE_TYPES.has(contentType) ? probeImage(contentType, head) : null;
  // Looks like an image but its header does not parse: never decoded, served as a download.
  if (IMAGE_TYPES.has(contentType) && !dimensions) contentType = 'application/octet-stream';
  return {
    id,
    channelId,
    uploaderId,
    messageId: null,
    filename,
    size,
    contentType,
    width: dimensions?.width ?? null,
    height: dimensions?.height ?? null,
    createdAt: Date.now(),
  };
}
