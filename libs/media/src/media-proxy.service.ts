import { Inject, Injectable, Optional } from '@nestjs/common';
import { ForbiddenError, RateLimitedError, TtlCache, isSnowflake, unknown } from '@parley/common';
import { attachmentPath, viewableByEveryone } from '@parley/chat';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { STORAGE, type Storage } from '@parley/storage';
import { RATE_LIMITER, type RateLimiter } from '@parley/state';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MediaError } from './errors';
import { FILE_STORE, type FileStore, fileKeys } from './file-store';
import {
  contentDisposition,
  hardenedHeaders,
  isImageType,
  isInlineType,
  matchesEtag,
  parseRange,
} from './http-files';
import { type ImageRequest, describeImageRequest, parseImageRequest, renderImage } from './images';
import { IMAGE_TYPES, probeImage, sniff } from './sniff';
import { ExternalFetchError, SafeFetcher } from './ssrf-guard';
import { MediaUrlSigner } from './url-signer';

const IMMUTABLE = 'public, max-age=31536000, immutable';
// At most 64 rendered images of up to 512 KiB each stay in memory (32 MiB).
const RENDERED_ENTRIES = 64;
const RENDERED_MAX_BYTES = 512 * 1024;
const EXTERNAL = 'external';
const PROFILE_IMAGE = /^([0-9a-f]{32})\.(png|webp|jpg|jpeg)$/;
const EMOJI_FILE = /^([0-9]{1,20})\.(png|gif|webp|jpg|jpeg)$/;

interface ServeOptions {
  key: string;
  contentType: string;
  filename: string;
  cacheControl: string;
  image: ImageRequest | null;
}

/** Builds the path at which the media proxy serves an external image (for link embeds). */
export function externalImagePath(signer: MediaUrlSigner, url: string): string {
  return signer.externalImagePath(url);
}

/**
 * The media-proxy role: reads files from the store and serves them with ETags, cache headers and
 * byte ranges, scales images on request, and fetches external images safely. Access to attachments
 * is by URL alone (browsers load them without credentials): a valid signature, or an attached file
 * in a channel @everyone can view.
 */
@Injectable()
export class MediaProxyService {
  private readonly fetcher: SafeFetcher;
  /** Rendered sizes by file version and request: a popular thumbnail is scaled once, not per viewer. */
  private readonly rendered = new TtlCache<{ body: Buffer; contentType: string }>(RENDERED_ENTRIES, 600_000);

  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(FILE_STORE) private readonly files: FileStore,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly signer: MediaUrlSigner,
    private readonly log: AppLogger,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
    @Optional() fetcher?: SafeFetcher,
  ) {
    const external = config.media.external;
    // Link previews of an allowed private host (an intranet wiki) show that host's images: the proxy may fetch
    // them too. Only URLs the server signed reach it.
    const allowed = new Set(
      config.unfurl.allow_private_hosts.map((h) => h.toLowerCase().replace(/^\[|\]$/g, '')),
    );
    this.fetcher =
      fetcher ??
      new SafeFetcher({
        maxBytes: external.max_size,
        timeoutMs: external.timeout,
        maxRedirects: external.max_redirects,
        allowHost: (host) => allowed.has(host),
      });
  }

  async attachment(
    request: FastifyRequest,
    reply: FastifyReply,
    params: { channelId: string; attachmentId: string; filename: string },
  ): Promise<void> {
    const query = request.query as Record<string, unknown>;
    const image = parseImageRequest(query, this.config.media.max_image_dimension);
    if (!isSnowflake(params.channelId) || !isSnowflake(params.attachmentId)) throw unknown('route');
    const record = await this.storage.attachments.find(params.attachmentId);
    if (!record || record.channelId !== params.channelId || record.filename !== params.filename)
      throw new MediaError(404, 'Unknown attachment', 10000);
    const path = attachmentPath(record.channelId, record);
    const signature = this.signer.check(path, query.ex, query.hm);
    let cacheControl: string;
    switch (signature) {
      case 'valid':
        cacheControl = `private, max-age=${Math.min(this.signer.remainingSeconds(query.ex as string), this.config.media.cache_max_age_seconds)}`;
        break;
      case 'expired':
        throw new ForbiddenError('This link has expired', 50013);
      case 'invalid':
        throw new ForbiddenError('This link is not valid', 50013);
      case 'missing':
        if (record.messageId === null || !(await this.isPublic(record.channelId)))
          throw new ForbiddenError('This file needs a signed link', 50013);
        cacheControl = `public, max-age=${this.config.media.cache_max_age_seconds}`;
        break;
    }
    await this.serve(request, reply, {
      key: fileKeys.attachment(record.channelId, record.id),
      contentType: record.contentType,
      filename: record.filename,
      cacheControl,
      image,
    });
  }

  async avatar(request: FastifyRequest, reply: FastifyReply, userId: string, file: string): Promise<void> {
    const match = PROFILE_IMAGE.exec(file);
    const user = match && isSnowflake(userId) ? await this.storage.users.findById(userId) : null;
    if (!match || !user || user.avatar !== match[1]) throw new MediaError(404, 'Unknown avatar', 10000);
    await this.serveProfileImage(request, reply, fileKeys.avatar(userId, match[1]), match[2], file);
  }

  async icon(request: FastifyRequest, reply: FastifyReply, guildId: string, file: string): Promise<void> {
    const match = PROFILE_IMAGE.exec(file);
    const guild = match && isSnowflake(guildId) ? await this.storage.guilds.findById(guildId) : null;
    if (!match || !guild || guild.icon !== match[1]) throw new MediaError(404, 'Unknown icon', 10000);
    await this.serveProfileImage(request, reply, fileKeys.icon(guildId, match[1]), match[2], file);
  }

  /**
   * A custom emoji at Discord's CDN path (`/emojis/<id>.<ext>`), by its file alone: no row is read, and a deleted
   * emoji is gone once its file is. Animated ones are GIFs (`.gif` as stored; other extensions convert the first
   * frame); static ones are PNGs (`.gif` of a static emoji serves the PNG, as Discord's CDN does).
   */
  async emoji(request: FastifyRequest, reply: FastifyReply, file: string): Promise<void> {
    const match = EMOJI_FILE.exec(file);
    if (!match || !isSnowflake(match[1])) throw new MediaError(404, 'Unknown emoji', 10014);
    const [, id, extension] = match;
    const gif = fileKeys.emoji(id, 'gif');
    const png = fileKeys.emoji(id, 'png');
    let stored: string | null = null;
    for (const key of extension === 'gif' ? [gif, png] : [png, gif])
      if (!stored && (await this.files.stat(key))) stored = key;
    if (!stored) throw new MediaError(404, 'Unknown emoji', 10014);
    const query = request.query as Record<string, unknown>;
    const asked = parseImageRequest(query, this.config.media.max_image_dimension);
    if (stored === gif && extension === 'gif') {
      // Served as stored (resizing would drop the animation); it is within 128×128 already.
      await this.serve(request, reply, {
        key: gif,
        contentType: 'image/gif',
        filename: file,
        cacheControl: IMMUTABLE,
        image: null,
      });
      return;
    }
    const format =
      extension === 'jpg' || extension === 'jpeg' ? 'jpeg' : extension === 'webp' ? 'webp' : null;
    const wanted =
      stored === png && format === null
        ? asked
        : { width: null, height: null, ...asked, format: asked?.format ?? format ?? 'png' };
    await this.serve(request, reply, {
      key: stored,
      contentType: stored === gif ? 'image/gif' : 'image/png',
      filename: file,
      cacheControl: IMMUTABLE,
      image: wanted,
    });
  }

  async external(request: FastifyRequest, reply: FastifyReply, encoded: string): Promise<void> {
    if (!this.config.media.external.enabled) throw new MediaError(404, 'The external image proxy is off', 0);
    const query = request.query as Record<string, unknown>;
    if (!this.signer.verifyMacFor(EXTERNAL, encoded, query.hm))
      throw new ForbiddenError('This link is not valid', 50013);
    const image = parseImageRequest(query, this.config.media.max_image_dimension);
    const url = Buffer.from(encoded, 'base64url').toString('utf8');
    let body: Buffer;
    try {
      body = (await this.fetcher.fetch(url)).body;
    } catch (err) {
      throw this.externalError(err);
    }
    const type = sniff(body);
    if (!IMAGE_TYPES.has(type) || !probeImage(type, body))
      throw new MediaError(415, 'The URL does not point at an image', 0);
    hardenedHeaders(reply).header(
      'cache-control',
      `public, max-age=${this.config.media.cache_max_age_seconds}`,
    );
    if (image) {
      await this.limitRendering(request);
      const rendered = await this.render(body, type, image);
      if (rendered) {
        await reply.type(rendered.contentType).send(rendered.body);
        return;
      }
    }
    await reply.type(type).header('content-disposition', 'inline').send(body);
  }

  private async serveProfileImage(
    request: FastifyRequest,
    reply: FastifyReply,
    key: string,
    extension: string,
    file: string,
  ): Promise<void> {
    const image = parseImageRequest(
      request.query as Record<string, unknown>,
      this.config.media.max_image_dimension,
    );
    const format = extension === 'jpg' ? 'jpeg' : (extension as 'png' | 'webp' | 'jpeg');
    // Stored as PNG: another extension is a conversion.
    const wanted =
      format === 'png' ? image : { width: null, height: null, ...image, format: image?.format ?? format };
    await this.serve(request, reply, {
      key,
      contentType: 'image/png',
      filename: file,
      cacheControl: IMMUTABLE,
      image: wanted,
    });
  }

  /** @everyone may view the channel (the file's URL then needs no signature). */
  private async isPublic(channelId: string): Promise<boolean> {
    const channel = await this.storage.channels.findById(channelId);
    if (!channel || channel.guildId === null) return false;
    const everyone = await this.storage.roles.find(channel.guildId, channel.guildId);
    return viewableByEveryone(channel, everyone ?? undefined);
  }

  private async serve(request: FastifyRequest, reply: FastifyReply, options: ServeOptions): Promise<void> {
    const stat = await this.files.stat(options.key);
    if (!stat) throw new MediaError(404, 'The file is gone', 10000);
    hardenedHeaders(reply).header('cache-control', options.cacheControl).header('vary', 'accept-encoding');

    const image = isImageType(options.contentType) ? options.image : null;
    if (image) {
      const etag = `"${stat.etag}-${describeImageRequest(image)}"`;
      if (matchesEtag(request, etag)) {
        await reply.code(304).header('etag', etag).send();
        return;
      }
      const cacheKey = `${options.key}\n${etag}`;
      let rendered = this.rendered.get(cacheKey) ?? null;
      if (!rendered) {
        await this.limitRendering(request);
        const generation = this.rendered.generation;
        rendered = await this.render(await this.files.read(options.key), options.contentType, image);
        if (rendered && rendered.body.length <= RENDERED_MAX_BYTES)
          this.rendered.set(cacheKey, rendered, generation);
      }
      if (rendered) {
        await reply
          .header('etag', etag)
          .header('content-disposition', contentDisposition('inline', options.filename))
          .type(rendered.contentType)
          .send(rendered.body);
        return;
      }
      // The header parsed but the image does not decode: hand the bytes over as a download.
      options = { ...options, contentType: 'application/octet-stream' };
    }

    const etag = `"${stat.etag}"`;
    const inline = isInlineType(options.contentType) && options.image === null;
    reply
      .header('etag', etag)
      .header('last-modified', new Date(stat.lastModified).toUTCString())
      .header('accept-ranges', 'bytes')
      .header('content-disposition', contentDisposition(inline ? 'inline' : 'attachment', options.filename))
      .type(options.contentType);
    if (matchesEtag(request, etag)) {
      await reply.code(304).send();
      return;
    }
    const ifRange = request.headers['if-range'];
    const range = ifRange && ifRange !== etag ? null : parseRange(request.headers.range, stat.size);
    if (range === 'unsatisfiable') {
      await reply.code(416).header('content-range', `bytes */${stat.size}`).send();
      return;
    }
    if (range) {
      await reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${stat.size}`)
        .header('content-length', String(range.end - range.start + 1))
        .send(await this.files.read(options.key, range));
      return;
    }
    if (stat.size === 0) {
      await reply.header('content-length', '0').send('');
      return;
    }
    await reply.header('content-length', String(stat.size)).send(await this.files.read(options.key));
  }

  /** Scaling costs CPU: each address may have only so many images rendered (cache misses) per window. */
  private async limitRendering(request: FastifyRequest): Promise<void> {
    const rule = this.config.rate_limits.enabled ? this.config.rate_limits.routes['media.resize'] : undefined;
    if (!rule) return;
    const decision = await this.limiter.consume(`media.resize:ip${request.ip}`, rule);
    if (!decision.allowed) throw new RateLimitedError(decision.resetAfterMs, decision.limit, 'media.resize');
  }

  private async render(
    input: Buffer | import('node:stream').Readable,
    contentType: string,
    image: ImageRequest,
  ): Promise<{ body: Buffer; contentType: string } | null> {
    try {
      return await renderImage(input, contentType, image, {
        maxDimension: this.config.media.max_image_dimension,
        maxInputPixels: this.config.media.max_input_pixels,
      });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'image could not be rendered');
      return null;
    }
  }

  private externalError(err: unknown): Error {
    if (!(err instanceof ExternalFetchError)) return err as Error;
    switch (err.reason) {
      case 'forbidden_destination':
        return new ForbiddenError('That address is not reachable through the media proxy', 50013);
      case 'bad_url':
        return new MediaError(400, err.message, 50035);
      case 'too_large':
        return new MediaError(413, 'The image is too large', 40005);
      case 'timeout':
        return new MediaError(504, 'The image took too long to fetch', 0);
      case 'upstream':
      case 'too_many_redirects':
        return new MediaError(502, err.message, 0);
    }
  }
}
