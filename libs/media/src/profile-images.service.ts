import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  type GuildDto,
  Permission,
  PayloadTooLargeError,
  type SelfUser,
  ValidationError,
  unknown,
} from '@parley/common';
import { toSelfUser } from '@parley/auth';
import { EVENT_BUS, type EventBus, JOB_QUEUE, type JobQueue } from '@parley/bus';
import { AccessService, toGuild } from '@parley/chat';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { STORAGE, type Storage } from '@parley/storage';
import type {} from '@fastify/multipart'; // request.file() and request.isMultipart()
import type { FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { FILE_STORE, type FileStore, fileKeys } from './file-store';
import { IMAGE_TYPES, probeImage, sniff } from './sniff';
import { sharp } from './images';

/** Avatars and icons are stored once, re-encoded as PNG within this box; sizes are made on request. */
const STORED_DIMENSION = 1024;

/**
 * User avatars and guild icons, Discord-style: the record keeps a hash, the file lives at
 * `avatars/<user>/<hash>` (or `icons/<guild>/<hash>`) and is served at `/media/avatars/<user>/<hash>.png`.
 * A new image gets a new hash, so its URL can be cached forever; the old file goes by durable job.
 */
@Injectable()
export class ProfileImageService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(FILE_STORE) private readonly files: FileStore,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    private readonly access: AccessService,
  ) {}

  async setAvatar(userId: string, request: FastifyRequest): Promise<SelfUser> {
    const image = await this.readImage(request);
    return this.changeAvatar(userId, image);
  }

  clearAvatar(userId: string): Promise<SelfUser> {
    return this.changeAvatar(userId, null);
  }

  async setIcon(guildId: string, userId: string, request: FastifyRequest): Promise<GuildDto> {
    await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    const image = await this.readImage(request);
    return this.changeIcon(guildId, userId, image);
  }

  async clearIcon(guildId: string, userId: string): Promise<GuildDto> {
    await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    return this.changeIcon(guildId, userId, null);
  }

  private async changeAvatar(userId: string, image: Buffer | null): Promise<SelfUser> {
    const user = await this.storage.users.findById(userId);
    if (!user) throw unknown('user');
    const hash = image ? await this.store((h) => fileKeys.avatar(userId, h), image) : null;
    await this.storage.users.update(userId, { avatar: hash });
    if (user.avatar)
      await this.jobs.enqueue('media.delete_files', { keys: [fileKeys.avatar(userId, user.avatar)] });
    const self = toSelfUser({ ...user, avatar: hash });
    this.bus.publish({ type: 'USER_UPDATE', scope: { kind: 'user', id: userId }, data: self });
    return self;
  }

  private async changeIcon(guildId: string, _userId: string, image: Buffer | null): Promise<GuildDto> {
    const guild = await this.storage.guilds.findById(guildId);
    if (!guild) throw unknown('guild');
    const hash = image ? await this.store((h) => fileKeys.icon(guildId, h), image) : null;
    await this.storage.guilds.update(guildId, { icon: hash });
    if (guild.icon)
      await this.jobs.enqueue('media.delete_files', { keys: [fileKeys.icon(guildId, guild.icon)] });
    const dto = toGuild({ ...guild, icon: hash });
    this.bus.publish({
      type: 'GUILD_UPDATE',
      scope: { kind: 'guild', id: guildId },
      data: dto,
      routing: { guildId },
    });
    return dto;
  }

  private async store(key: (hash: string) => string, png: Buffer): Promise<string> {
    const hash = randomBytes(16).toString('hex');
    await this.files.put(key(hash), Readable.from([png]), { maxBytes: png.length, contentType: 'image/png' });
    return hash;
  }

  /** The `file` part, bounded by media.max_avatar_size, decoded only if its header parses, as PNG. */
  private async readImage(request: FastifyRequest): Promise<Buffer> {
    const max = this.config.media.max_avatar_size;
    if (!request.isMultipart())
      throw ValidationError.field('file', 'BASE_TYPE_REQUIRED', 'Send the image as multipart field "file"');
    const part = await request.file({ limits: { fileSize: max, files: 1, fields: 10, parts: 20 } });
    if (!part || part.fieldname !== 'file') {
      part?.file.resume();
      throw ValidationError.field('file', 'BASE_TYPE_REQUIRED', 'Send the image as multipart field "file"');
    }
    let bytes: Buffer;
    try {
      bytes = await part.toBuffer();
    } catch (err) {
      if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
        throw new PayloadTooLargeError(`Images are limited to ${max} bytes`);
      throw err;
    }
    const type = sniff(bytes);
    if (!IMAGE_TYPES.has(type) || !probeImage(type, bytes))
      throw ValidationError.field('file', 'IMAGE_INVALID', 'Must be a PNG, JPEG, GIF or WebP image');
    try {
      return await sharp()(bytes, { limitInputPixels: this.config.media.max_input_pixels, animated: false })
        .rotate()
        .resize({
          width: STORED_DIMENSION,
          height: STORED_DIMENSION,
          fit: 'inside',
          withoutEnlargement: true,
        })
        .png()
        .toBuffer();
    } catch {
      throw ValidationError.field('file', 'IMAGE_INVALID', 'The image could not be decoded');
    }
  }
}
