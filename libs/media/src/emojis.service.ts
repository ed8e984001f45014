import { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestError,
  type EmojiDto,
  Permission,
  PermissionCalculator,
  SnowflakeGenerator,
  ValidationError,
  isSnowflake,
  unknown,
} from '@parley/common';
import { EVENT_BUS, type EventBus, JOB_QUEUE, type JobQueue } from '@parley/bus';
import {
  AccessService,
  AuditLogEvent,
  AuditLogService,
  type GuildAccess,
  UserDirectory,
  changesOf,
  emojiFileKeys,
  toEmoji,
} from '@parley/chat';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { type EmojiRecord, STORAGE, type Storage } from '@parley/storage';
import { FILE_STORE, type FileStore, fileKeys } from './file-store';
import { sharp } from './images';
import { IMAGE_TYPES, probeImage, sniff } from './sniff';

/** Discord's error past a guild's emoji slots. */
const MAX_EMOJIS_CODE = 30008;
/** Emoji are shown small: stored within Discord's 128×128 box, sizes are made on request by the proxy. */
const STORED_DIMENSION = 128;
/** Discord's form: `data:image/<type>;base64,<bytes>`. */
const DATA_URI = /^data:image\/(png|jpeg|jpg|gif|webp);base64,([A-Za-z0-9+/]*={0,2})$/;

export interface EmojiCreate {
  name: string;
  image: string;
  roles?: string[];
}

export interface EmojiPatchInput {
  name?: string;
  roles?: string[] | null;
}

/**
 * A guild's custom emoji (Discord's guild emoji routes). The image comes as a data URI, is checked by its bytes
 * (never by the declared type), re-encoded within 128×128 (static: PNG; animated: GIF) and stored in the file
 * store at `emojis/<id>.png|gif`, where the media proxy serves it as Discord's CDN does (`/media/emojis/<id>.png`).
 * Every change dispatches GUILD_EMOJIS_UPDATE with the guild's whole list and writes an audit log entry.
 */
@Injectable()
export class EmojiService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(FILE_STORE) private readonly files: FileStore,
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    private readonly access: AccessService,
    private readonly audit: AuditLogService,
    private readonly users: UserDirectory,
    private readonly ids: SnowflakeGenerator,
  ) {}

  async list(guildId: string, userId: string): Promise<EmojiDto[]> {
    const access = await this.access.guild(guildId, userId);
    const emojis = await this.storage.emojis.list(guildId);
    return this.withUsers(access, emojis);
  }

  async get(guildId: string, userId: string, emojiId: string): Promise<EmojiDto> {
    const access = await this.access.guild(guildId, userId);
    const emoji = await this.find(guildId, emojiId);
    return (await this.withUsers(access, [emoji]))[0];
  }

  async create(guildId: string, userId: string, body: EmojiCreate, reason: string | null): Promise<EmojiDto> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD_EXPRESSIONS);
    const roles = this.checkRoles(access, body.roles ?? []);
    const image = await this.decode(body.image);
    const existing = await this.storage.emojis.list(guildId);
    // A soft limit: two uploads racing for the last slot can both land (as with the upload quota).
    const limit = image.animated ? this.config.media.emoji.max_animated : this.config.media.emoji.max_static;
    if (existing.filter((e) => e.animated === image.animated).length >= limit)
      throw new BadRequestError(`Maximum number of emojis reached (${limit})`, MAX_EMOJIS_CODE);
    const emoji: EmojiRecord = {
      guildId,
      id: this.ids.next(),
      name: body.name,
      roles,
      userId,
      animated: image.animated,
    };
    // The file first: a row never points at a missing image (a crash leaves an unused file).
    const key = fileKeys.emoji(emoji.id, image.animated ? 'gif' : 'png');
    await this.files.put(key, Readable.from([image.bytes]), {
      maxBytes: image.bytes.length,
      contentType: image.animated ? 'image/gif' : 'image/png',
    });
    await this.storage.emojis.create(emoji);
    this.publish(guildId, [...existing, emoji]);
    const dto = toEmoji(emoji);
    this.audit.record({
      guildId,
      userId,
      actionType: AuditLogEvent.EMOJI_CREATE,
      targetId: emoji.id,
      changes: changesOf(undefined, { name: emoji.name }, ['name']),
      reason,
    });
    return (await this.withUsers(access, [emoji]))[0] ?? dto;
  }

  async update(
    guildId: string,
    userId: string,
    emojiId: string,
    patch: EmojiPatchInput,
    reason: string | null,
  ): Promise<EmojiDto> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD_EXPRESSIONS);
    const before = await this.find(guildId, emojiId);
    const change: { name?: string; roles?: string[] } = {};
    if (patch.name !== undefined) change.name = patch.name;
    if (patch.roles !== undefined) change.roles = this.checkRoles(access, patch.roles ?? []);
    const after: EmojiRecord = { ...before, ...change };
    if (Object.keys(change).length > 0) {
      await this.storage.emojis.update(guildId, emojiId, change);
      this.publish(guildId, await this.listWith(guildId, after));
      const changes = changesOf(before, after, ['name', 'roles']);
      if (changes.length > 0)
        this.audit.record({
          guildId,
          userId,
          actionType: AuditLogEvent.EMOJI_UPDATE,
          targetId: emojiId,
          changes,
          reason,
        });
    }
    return (await this.withUsers(access, [after]))[0];
  }

  async delete(guildId: string, userId: string, emojiId: string, reason: string | null): Promise<void> {
    await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD_EXPRESSIONS);
    const emoji = await this.find(guildId, emojiId);
    await this.storage.emojis.delete(guildId, emojiId);
    // The image goes by durable job once the row is gone; reactions with it stay, with a null name.
    await this.jobs.enqueue('media.delete_files', { keys: emojiFileKeys(emojiId) });
    this.publish(
      guildId,
      (await this.storage.emojis.list(guildId)).filter((e) => e.id !== emojiId),
    );
    this.audit.record({
      guildId,
      userId,
      actionType: AuditLogEvent.EMOJI_DELETE,
      targetId: emojiId,
      changes: changesOf({ name: emoji.name }, undefined, ['name']),
      reason,
    });
  }

  private async find(guildId: string, emojiId: string): Promise<EmojiRecord> {
    const emoji = isSnowflake(emojiId) ? await this.storage.emojis.find(guildId, emojiId) : null;
    if (!emoji) throw unknown('emoji');
    return emoji;
  }

  /** The guild's list as it is after a change (the changed emoji as written, whatever a read returns). */
  private async listWith(guildId: string, changed: EmojiRecord): Promise<EmojiRecord[]> {
    return (await this.storage.emojis.list(guildId)).map((e) => (e.id === changed.id ? changed : e));
  }

  /** Discord's GUILD_EMOJIS_UPDATE: the guild's whole list, to every member. */
  private publish(guildId: string, emojis: EmojiRecord[]): void {
    this.bus.publish({
      type: 'GUILD_EMOJIS_UPDATE',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId, emojis: emojis.map((e) => toEmoji(e)) },
      routing: { guildId },
    });
  }

  /** Who uploaded each emoji, shown (as on Discord) to members who may manage them. */
  private async withUsers(access: GuildAccess, emojis: EmojiRecord[]): Promise<EmojiDto[]> {
    if (!PermissionCalculator.has(access.permissions, Permission.MANAGE_GUILD_EXPRESSIONS))
      return emojis.map((e) => toEmoji(e));
    const users = await this.users.many(emojis.flatMap((e) => (e.userId ? [e.userId] : [])));
    return emojis.map((e) => toEmoji(e, e.userId ? users.get(e.userId) : undefined));
  }

  /** Restricting roles must be roles of this guild (not @everyone: that is no restriction). */
  private checkRoles(access: GuildAccess, roles: string[]): string[] {
    const known = new Set(access.roles.map((r) => r.id));
    const unique = [...new Set(roles)];
    for (const [i, role] of unique.entries())
      if (!known.has(role) || role === access.guild.id)
        throw ValidationError.field(`roles.${i}`, 'ROLE_INVALID', 'Unknown role');
    return unique;
  }

  /** The data URI's bytes, checked by content (PNG, JPEG, GIF or WebP), re-encoded within 128×128. */
  private async decode(image: string): Promise<{ bytes: Buffer; animated: boolean }> {
    const max = this.config.media.emoji.max_size;
    const match = DATA_URI.exec(image);
    if (!match)
      throw ValidationError.field(
        'image',
        'IMAGE_INVALID',
        'Must be a data URI of a PNG, JPEG, GIF or WebP image',
      );
    // Four base64 characters per three bytes: refuse an oversized image before decoding it.
    if (Math.floor((match[2].length * 3) / 4) > max + 2)
      throw ValidationError.field(
        'image',
        'BINARY_TYPE_MAX_SIZE',
        `File cannot be larger than ${max / 1024} kb`,
      );
    const bytes = Buffer.from(match[2], 'base64');
    if (bytes.length > max)
      throw ValidationError.field(
        'image',
        'BINARY_TYPE_MAX_SIZE',
        `File cannot be larger than ${max / 1024} kb`,
      );
    const type = sniff(bytes);
    if (!IMAGE_TYPES.has(type) || !probeImage(type, bytes))
      throw ValidationError.field('image', 'IMAGE_INVALID', 'Must be a PNG, JPEG, GIF or WebP image');
    const limitInputPixels = this.config.media.max_input_pixels;
    try {
      const pages = (await sharp()(bytes, { limitInputPixels, animated: true }).metadata()).pages ?? 1;
      const animated = pages > 1 && (type === 'image/gif' || type === 'image/webp');
      const box = {
        width: STORED_DIMENSION,
        height: STORED_DIMENSION,
        fit: 'inside' as const,
        withoutEnlargement: true,
      };
      const out = animated
        ? await sharp()(bytes, { limitInputPixels, animated: true }).resize(box).gif().toBuffer()
        : await sharp()(bytes, { limitInputPixels }).rotate().resize(box).png().toBuffer();
      return { bytes: out, animated };
    } catch {
      throw ValidationError.field('image', 'IMAGE_INVALID', 'The image could not be decoded');
    }
  }
}
