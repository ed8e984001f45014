import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  BadRequestError,
  ChannelType,
  InvalidWebhookTokenError,
  type MessageDto,
  NotFoundError,
  Permission,
  SnowflakeGenerator,
  type WebhookDto,
  isSnowflake,
  unknown,
} from '@parley/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import {
  type AttachmentRef,
  STORAGE,
  type Storage,
  type WebhookPatch,
  type WebhookRecord,
} from '@parley/storage';
import { AccessService, type ChannelAccess } from './access.service';
import type { AllowedMentions } from './mentions';
import { MessageService } from './messages.service';
import {
  AuditLogEvent,
  type AuditLogChange,
  type AuditLogEventType,
  changesOf,
} from './moderation/audit-log-events';
import { AuditLogService } from './moderation/audit-log.service';
import { UserDirectory } from './users.directory';
import type { EmbedRecord } from '@parley/storage';
import { WEBHOOK_FILES, type WebhookFileBatch, type WebhookFiles } from './webhook-files';

/** Discord's limit of webhooks per channel (error 30007 beyond it). */
export const MAX_WEBHOOKS_PER_CHANNEL = 15;
/** Channel types a webhook may post in: text and announcement channels, as on Discord. */
const WEBHOOK_CHANNEL_TYPES: readonly number[] = [ChannelType.TEXT, 5];

export interface WebhookExecuteInput {
  content?: string;
  username?: string;
  avatar_url?: string;
  embeds?: EmbedRecord[];
  allowed_mentions?: AllowedMentions;
  flags?: number;
  attachments?: PartialAttachment[];
}

/** Discord's partial attachment: `id` is a `files[n]` index for a new file, or a kept attachment's id. */
export interface PartialAttachment {
  id: string;
  filename?: string;
  description?: string;
}

/** A file of this request, stored: `index` is the n of its `files[n]` part (or its place among the files). */
export interface StoredWebhookFile {
  index: string;
  ref: AttachmentRef;
}

/** What a request with the webhook's token acts on: the webhook and its channel as the webhook sees it. */
export interface WebhookTarget {
  webhook: WebhookRecord;
  access: ChannelAccess;
}

export interface WebhookMessageEditInput {
  content?: string | null;
  embeds?: EmbedRecord[] | null;
  allowed_mentions?: AllowedMentions | null;
  attachments?: PartialAttachment[] | null;
  flags?: number | null;
}

/** Which fields an audit log entry compares (Discord's keys). */
const AUDITED = ['name', 'channel_id', 'avatar_hash', 'type'] as const;
const audited = (w: WebhookRecord) => ({
  name: w.name,
  channel_id: w.channelId,
  avatar_hash: w.avatar,
  type: 1,
});

/**
 * Incoming webhooks (Discord's type 1): managed by members with MANAGE_WEBHOOKS in the channel, executed by
 * whoever holds the token. Every change is announced (WEBHOOKS_UPDATE to the channel) and audited
 * (WEBHOOK_CREATE/UPDATE/DELETE). Execute is one read of the webhook (its token is the credential), then the
 * ordinary send path with the webhook as the author.
 */
@Injectable()
export class WebhookService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly ids: SnowflakeGenerator,
    private readonly access: AccessService,
    private readonly users: UserDirectory,
    private readonly audit: AuditLogService,
    private readonly messages: MessageService,
    @Optional() @Inject(WEBHOOK_FILES) private readonly files?: WebhookFiles,
  ) {}

  async create(
    channelId: string,
    userId: string,
    body: { name: string; avatar?: string | null },
    reason: string | null,
  ): Promise<WebhookDto> {
    const access = await this.access.requireChannel(channelId, userId, Permission.MANAGE_WEBHOOKS);
    const { channel } = access;
    if (channel.guildId === null || !WEBHOOK_CHANNEL_TYPES.includes(channel.type)) {
      const err = new BadRequestError('Invalid Form Body');
      err.errors = { channel_id: [{ code: 'CHANNEL_TYPE_INVALID', message: 'Not a text channel' }] };
      throw err;
    }
    const existing = await this.storage.webhooks.listByChannel(channel.guildId, channel.id);
    if (existing.length >= MAX_WEBHOOKS_PER_CHANNEL)
      throw new BadRequestError(`Maximum number of webhooks reached (${MAX_WEBHOOKS_PER_CHANNEL})`, 30007);
    const webhook: WebhookRecord = {
      id: this.ids.next(),
      guildId: channel.guildId,
      channelId: channel.id,
      creatorId: userId,
      name: body.name,
      avatar: body.avatar ?? null,
      // 68 URL-safe characters, like Discord's tokens: 408 random bits.
      token: randomBytes(51).toString('base64url'),
    };
    await this.storage.webhooks.create(webhook);
    this.announce(webhook);
    this.record(
      webhook.guildId,
      userId,
      webhook.id,
      AuditLogEvent.WEBHOOK_CREATE,
      changesOf(undefined, audited(webhook), AUDITED),
      reason,
    );
    return (await this.toDtos([webhook]))[0];
  }

  async listChannel(channelId: string, userId: string): Promise<WebhookDto[]> {
    const { channel } = await this.access.requireChannel(channelId, userId, Permission.MANAGE_WEBHOOKS);
    if (channel.guildId === null) return [];
    return this.toDtos(await this.storage.webhooks.listByChannel(channel.guildId, channel.id));
  }

  async listGuild(guildId: string, userId: string): Promise<WebhookDto[]> {
    await this.access.requireGuild(guildId, userId, Permission.MANAGE_WEBHOOKS);
    return this.toDtos(await this.storage.webhooks.listByGuild(guildId));
  }

  async get(webhookId: string, userId: string): Promise<WebhookDto> {
    const webhook = await this.managed(webhookId, userId);
    return (await this.toDtos([webhook]))[0];
  }

  async modify(
    webhookId: string,
    userId: string,
    body: { name?: string; avatar?: string | null; channel_id?: string },
    reason: string | null,
  ): Promise<WebhookDto> {
    const webhook = await this.managed(webhookId, userId);
    const patch: WebhookPatch = {};
    if (body.name !== undefined) patch.name = body.name;
    if (body.avatar !== undefined) patch.avatar = body.avatar;
    if (body.channel_id !== undefined && body.channel_id !== webhook.channelId) {
      // Moving needs MANAGE_WEBHOOKS where it goes too, in the same guild.
      const target = await this.access.requireChannel(body.channel_id, userId, Permission.MANAGE_WEBHOOKS);
      if (
        target.channel.guildId !== webhook.guildId ||
        !WEBHOOK_CHANNEL_TYPES.includes(target.channel.type)
      ) {
        const err = new BadRequestError('Invalid Form Body');
        err.errors = {
          channel_id: [{ code: 'CHANNEL_TYPE_INVALID', message: 'Not a text channel of this guild' }],
        };
        throw err;
      }
      patch.channelId = target.channel.id;
    }
    const updated = await this.apply(webhook, patch, userId, reason);
    return (await this.toDtos([updated]))[0];
  }

  async delete(webhookId: string, userId: string, reason: string | null): Promise<void> {
    const webhook = await this.managed(webhookId, userId);
    await this.remove(webhook, userId, reason);
  }

  async getWithToken(webhookId: string, token: string): Promise<WebhookDto> {
    return this.toDto(await this.withToken(webhookId, token), false);
  }

  async modifyWithToken(
    webhookId: string,
    token: string,
    body: { name?: string; avatar?: string | null },
  ): Promise<WebhookDto> {
    const webhook = await this.withToken(webhookId, token);
    const patch: WebhookPatch = {};
    if (body.name !== undefined) patch.name = body.name;
    if (body.avatar !== undefined) patch.avatar = body.avatar;
    return this.toDto(await this.apply(webhook, patch, null, null), false);
  }

  async deleteWithToken(webhookId: string, token: string): Promise<void> {
    await this.remove(await this.withToken(webhookId, token), null, null);
  }

  /** The webhook whose token this is, and its channel (Unknown Webhook once the channel is gone). */
  async target(webhookId: string, token: string): Promise<WebhookTarget> {
    const webhook = await this.withToken(webhookId, token);
    try {
      return {
        webhook,
        access: await this.access.webhookChannel(webhook.channelId, webhook.guildId, webhook.id),
      };
    } catch (err) {
      if (err instanceof NotFoundError) throw unknown('webhook');
      throw err;
    }
  }

  /**
   * Where this request's files go: the webhook's channel, charged to the upload quota of the person who created
   * the webhook (the webhook itself once they are gone), so webhooks do not multiply anyone's quota.
   */
  async fileBatch(target: WebhookTarget, field: string): Promise<WebhookFileBatch> {
    if (!this.files) {
      const err = new BadRequestError('Invalid Form Body');
      err.errors = { [field]: [{ code: 'FILES_NOT_SUPPORTED', message: 'This process takes no files' }] };
      throw err;
    }
    return this.files.open(target.webhook.channelId, target.webhook.creatorId ?? target.webhook.id);
  }

  /**
   * Discord's execute: the message as the webhook (its name and avatar, or this call's `username` and
   * `avatar_url`), with the request's files (already stored, claimed here for the message). Answers the
   * message, once it is stored.
   */
  async execute(
    target: WebhookTarget,
    input: WebhookExecuteInput,
    files: readonly StoredWebhookFile[] = [],
  ): Promise<MessageDto> {
    const { webhook, access } = target;
    // A data: avatar stays on the webhook (read by GET); a message keeps only URLs (it is copied per message).
    const ownAvatar = webhook.avatar !== null && /^https?:/i.test(webhook.avatar) ? webhook.avatar : null;
    const id = this.ids.next();
    const attachments = await this.claim(target, id, described(files, input.attachments));
    return this.messages.createFromWebhook(
      access,
      { id: webhook.id, name: input.username ?? webhook.name, avatar: input.avatar_url ?? ownAvatar },
      {
        id,
        content: input.content,
        embeds: input.embeds,
        allowed_mentions: input.allowed_mentions,
        flags: input.flags,
        attachments,
      },
    );
  }

  /** `GET /webhooks/:id/:token/messages/:message_id`: a message this webhook sent. */
  async getMessage(webhookId: string, token: string, messageId: string): Promise<MessageDto> {
    const { webhook, access } = await this.target(webhookId, token);
    return this.messages.getFromWebhook(access, webhook.id, messageId);
  }

  /**
   * Discord's edit by token: content, embeds, allowed_mentions, flags (SUPPRESS_EMBEDS), and `attachments`, the
   * list of what the message keeps afterwards (kept ids, and new files by their `files[n]` index); files sent
   * without being listed are added too. Removed files are deleted by the media job, as on a message delete.
   */
  async editMessage(
    target: WebhookTarget,
    messageId: string,
    input: WebhookMessageEditInput,
    files: readonly StoredWebhookFile[] = [],
  ): Promise<MessageDto> {
    const { webhook, access } = target;
    const message = await this.messages.webhookMessage(access, webhook.id, messageId);
    let attachments: AttachmentRef[] | undefined;
    if (input.attachments != null || files.length > 0) {
      const listed = input.attachments ?? null;
      const kept =
        listed === null
          ? message.attachments
          : message.attachments.flatMap((a) => {
              const meta = listed.find((l) => l.id === a.id);
              if (!meta) return [];
              return [meta.description !== undefined ? { ...a, description: meta.description } : a];
            });
      const added = await this.claim(target, message.id, described(files, listed ?? undefined));
      attachments = [...kept, ...added];
    }
    return this.messages.editFromWebhook(access, message, {
      content: input.content ?? undefined,
      embeds: input.embeds ?? undefined,
      allowed_mentions: input.allowed_mentions ?? undefined,
      flags: input.flags ?? undefined,
      attachments,
    });
  }

  /** `DELETE /webhooks/:id/:token/messages/:message_id`: 204, MESSAGE_DELETE, its files deleted by a job. */
  async deleteMessage(webhookId: string, token: string, messageId: string): Promise<void> {
    const { webhook, access } = await this.target(webhookId, token);
    const message = await this.messages.webhookMessage(access, webhook.id, messageId);
    await this.messages.deleteFromWebhook(access, message);
  }

  /** Claims this request's stored files for the message (they were stored as nobody's yet). */
  private async claim(
    target: WebhookTarget,
    messageId: string,
    refs: AttachmentRef[],
  ): Promise<AttachmentRef[]> {
    const uploaderId = target.webhook.creatorId ?? target.webhook.id;
    for (const ref of refs) {
      const claimed = await this.storage.attachments.attach(ref.id, {
        channelId: target.webhook.channelId,
        uploaderId,
        messageId,
      });
      // Only a sweep racing a very slow request could take an upload of this request: say so, send nothing.
      if (!claimed) throw new BadRequestError('An uploaded file expired before the message was stored');
    }
    return refs;
  }

  /** The webhook if the caller has MANAGE_WEBHOOKS in its channel; 404 Unknown Webhook when it cannot see it. */
  private async managed(webhookId: string, userId: string): Promise<WebhookRecord> {
    const webhook = isSnowflake(webhookId) ? await this.storage.webhooks.find(webhookId) : null;
    if (!webhook) throw unknown('webhook');
    try {
      await this.access.requireChannel(webhook.channelId, userId, Permission.MANAGE_WEBHOOKS);
    } catch (err) {
      if (err instanceof NotFoundError) throw unknown('webhook');
      throw err;
    }
    return webhook;
  }

  /** The webhook whose token this is (compared in constant time); 401 Invalid Webhook Token otherwise. */
  private async withToken(webhookId: string, token: string): Promise<WebhookRecord> {
    const webhook = isSnowflake(webhookId) ? await this.storage.webhooks.find(webhookId) : null;
    if (!webhook) throw unknown('webhook');
    const given = Buffer.from(token);
    const held = Buffer.from(webhook.token);
    if (given.length !== held.length || !timingSafeEqual(given, held)) throw new InvalidWebhookTokenError();
    return webhook;
  }

  private async apply(
    webhook: WebhookRecord,
    patch: WebhookPatch,
    userId: string | null,
    reason: string | null,
  ): Promise<WebhookRecord> {
    const updated: WebhookRecord = { ...webhook, ...patch };
    const changes = changesOf(audited(webhook), audited(updated), AUDITED);
    if (changes.length === 0) return webhook;
    await this.storage.webhooks.update(webhook.id, patch);
    this.announce(updated);
    if (updated.channelId !== webhook.channelId) this.announce(webhook);
    this.record(webhook.guildId, userId, webhook.id, AuditLogEvent.WEBHOOK_UPDATE, changes, reason);
    return updated;
  }

  private async remove(webhook: WebhookRecord, userId: string | null, reason: string | null): Promise<void> {
    await this.storage.webhooks.delete(webhook.id);
    this.announce(webhook);
    this.record(
      webhook.guildId,
      userId,
      webhook.id,
      AuditLogEvent.WEBHOOK_DELETE,
      changesOf(audited(webhook), undefined, AUDITED),
      reason,
    );
  }

  /** Discord's WEBHOOKS_UPDATE: "something changed in this channel's webhooks", to those who see it. */
  private announce(webhook: WebhookRecord): void {
    this.bus.publish({
      type: 'WEBHOOKS_UPDATE',
      scope: { kind: 'channel', id: webhook.channelId, guildId: webhook.guildId },
      data: { guild_id: webhook.guildId, channel_id: webhook.channelId },
    });
  }

  private record(
    guildId: string,
    userId: string | null,
    targetId: string,
    actionType: AuditLogEventType,
    changes: AuditLogChange[],
    reason: string | null,
  ): void {
    this.audit.record({ guildId, userId, targetId, actionType, changes, reason });
  }

  private async toDtos(webhooks: WebhookRecord[]): Promise<WebhookDto[]> {
    const creators = await this.users.many(webhooks.flatMap((w) => (w.creatorId ? [w.creatorId] : [])));
    return webhooks.map((w) => {
      const dto = this.toDto(w, true);
      const user = w.creatorId ? creators.get(w.creatorId) : undefined;
      if (user) dto.user = user;
      return dto;
    });
  }

  /** Discord's webhook object; the token only for its managers (and those who already hold it). */
  private toDto(w: WebhookRecord, withToken: boolean): WebhookDto {
    return {
      id: w.id,
      type: 1,
      guild_id: w.guildId,
      channel_id: w.channelId,
      name: w.name,
      avatar: w.avatar,
      application_id: null,
      ...(withToken ? { token: w.token } : {}),
    };
  }
}

/**
 * The files with Discord's metadata applied: each `attachments` entry whose id is a file's index gives that file
 * its `description` (its `filename` is used when it arrives before the file, see the controller).
 */
function described(
  files: readonly StoredWebhookFile[],
  meta: PartialAttachment[] | undefined,
): AttachmentRef[] {
  return files.map(({ index, ref }) => {
    const description = meta?.find((m) => m.id === index)?.description;
    return description !== undefined && description !== '' ? { ...ref, description } : ref;
  });
}
