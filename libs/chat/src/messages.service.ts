import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import {
  BadRequestError,
  ChannelType,
  ForbiddenError,
  type MemberDto,
  type MessageDto,
  Permission,
  PermissionCalculator,
  type PublicUser,
  type ReactionEmojiDto,
  type ReadStateDto,
  SnowflakeGenerator,
  isSnowflake,
  snowflakeTime,
  unknown,
  wrongChannelType,
} from '@parley/common';
import { InstanceCounters } from '@parley/auth';
import {
  EVENT_BUS,
  type EventBus,
  type EventScope,
  JOB_QUEUE,
  type JobQueue,
  type MessageJob,
} from '@parley/bus';
import {
  type AttachmentRef,
  type ChannelRecord,
  type EmbedRecord,
  type EmojiRecord,
  type MemberRecord,
  type MessagePatch,
  type MessageRecord,
  type MessageWebhookRecord,
  STORAGE,
  type Storage,
} from '@parley/storage';
import { AccessService, type ChannelAccess } from './access.service';
import {
  type AttachmentUrl,
  MEDIA_PATH_SIGNER,
  type MediaPathSigner,
  attachmentUrls,
} from './attachment-urls';
import { SETTABLE_FLAGS, SUPPRESS_EMBEDS } from './embeds';
import {
  EXTERNAL_IMAGE_PROXY,
  type ExternalImageProxy,
  LINK_PREVIEW_SETTINGS,
  type LinkPreviewSettings,
  hasUnfurlableLinks,
  proxiedEmbeds,
} from './links';
import { type AllowedMentions, parseMentions } from './mentions';
import { type ReactionEmoji, isCustomReactionKey, toReactionEmoji } from './emoji';
import { toMember, toMessage, toMessageMember, toReactions } from './serializers';
import { UserDirectory } from './users.directory';
import { AuditLogEvent } from './moderation/audit-log-events';
import { AuditLogService } from './moderation/audit-log.service';
import { SlowmodeService } from './moderation/slowmode.service';
import { AutoModService } from './moderation/automod/automod.service';
import { RelationshipService, cannotMessageUser } from './moderation/relationships.service';

/** Discord's REPLY message type. */
const MESSAGE_TYPE_REPLY = 19;
/** What members write (default and reply); system messages carry no `member`. */
const USER_MESSAGE_TYPES = new Set([0, MESSAGE_TYPE_REPLY]);

/**
 * A guild message event with Discord's `member`: the author's member as the permission check loaded it, so no
 * read on the send path, and one field on one event whatever the number of recipients. DMs have none; webhook
 * and system messages do not come here.
 */
function withAuthorMember(dto: MessageDto, access: ChannelAccess): MessageDto {
  return access.guild ? { ...dto, member: toMessageMember(access.guild.member) } : dto;
}

export interface MessageReferenceInput {
  message_id: string;
  channel_id?: string;
  guild_id?: string;
  fail_if_not_exists?: boolean;
}
/** How long a send's nonce is held for `enforce_nonce` ("the past few minutes" in Discord's words). */
const NONCE_TTL_MS = 5 * 60 * 1000;
/** Discord's message edit: any of content, embeds and flags (the last alone may be a moderator's). */
export interface MessageEditInput {
  content?: string;
  embeds?: EmbedRecord[];
  flags?: number;
  allowed_mentions?: AllowedMentions;
}
/** Discord refuses to bulk delete messages older than two weeks. */
const BULK_DELETE_MAX_AGE_MS = 14 * 24 * 60 * 60 * 1000;

export interface HistoryQuery {
  limit: number;
  before?: string;
  after?: string;
  around?: string;
}

function channelScope(channel: ChannelRecord): EventScope {
  return { kind: 'channel', id: channel.id, guildId: channel.guildId };
}

@Injectable()
export class MessageService {
  /** Nest's logger (chat does not depend on observability); the app routes it to its own. */
  private readonly log = new Logger('MessageService');
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly ids: SnowflakeGenerator,
    private readonly access: AccessService,
    private readonly users: UserDirectory,
    private readonly audit: AuditLogService,
    private readonly slowmode: SlowmodeService,
    private readonly automod: AutoModService,
    private readonly relationships: RelationshipService,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    private readonly counters: InstanceCounters,
    @Optional() @Inject(MEDIA_PATH_SIGNER) private readonly signer?: MediaPathSigner,
    @Optional() @Inject(LINK_PREVIEW_SETTINGS) private readonly previews?: LinkPreviewSettings,
    @Optional() @Inject(EXTERNAL_IMAGE_PROXY) private readonly imageProxy?: ExternalImageProxy | null,
  ) {}

  async history(channelId: string, userId: string, query: HistoryQuery): Promise<MessageDto[]> {
    const access = await this.access.requireChannel(channelId, userId, Permission.READ_MESSAGE_HISTORY);
    const { channel } = access;
    const repo = this.storage.messages;
    const messages = query.before
      ? await repo.listBefore(channel.id, query.before, query.limit)
      : query.after
        ? await repo.listAfter(channel.id, query.after, query.limit)
        : query.around
          ? await repo.listAround(channel.id, query.around, query.limit)
          : await repo.listLatest(channel.id, query.limit);
    return this.render(channel.id, messages, userId, this.urls(access));
  }

  async get(channelId: string, userId: string, messageId: string): Promise<MessageDto> {
    const access = await this.access.requireChannel(channelId, userId, Permission.READ_MESSAGE_HISTORY);
    const message = await this.find(access.channel.id, messageId);
    const [dto] = await this.render(access.channel.id, [message], userId, this.urls(access));
    return dto;
  }

  async create(
    channelId: string,
    userId: string,
    input: {
      content?: string;
      nonce?: string;
      enforce_nonce?: boolean;
      attachment_ids?: string[];
      message_reference?: MessageReferenceInput;
      allowed_mentions?: AllowedMentions;
      embeds?: EmbedRecord[];
      flags?: number;
    },
  ): Promise<MessageDto> {
    const access = await this.access.requireChannel(channelId, userId, Permission.SEND_MESSAGES);
    if (access.channel.type === ChannelType.CATEGORY) throw wrongChannelType('message');
    await this.slowmode.check(access, userId);
    const content = input.content ?? '';
    const attachmentIds = [...new Set(input.attachment_ids ?? [])];
    if (attachmentIds.length > 0 && !PermissionCalculator.has(access.permissions, Permission.ATTACH_FILES))
      throw new ForbiddenError();
    const embeds = proxiedEmbeds(input.embeds ?? [], this.imageProxy);
    if (content.trim().length === 0 && attachmentIds.length === 0 && embeds.length === 0) {
      const err = new BadRequestError('Cannot send an empty message', 50006);
      err.errors = { content: [{ code: 'BASE_TYPE_REQUIRED', message: 'Content must not be empty' }] };
      throw err;
    }
    // Before anything is stored or delivered: a block refuses the send whole.
    await this.screen(access, userId, content, false);
    const parsed = this.mentionsOf(access, content, input.allowed_mentions);
    const mentions = parsed.users;
    const referenced = input.message_reference
      ? await this.referenced(access, input.message_reference)
      : null;
    // Discord mentions the replied-to author unless allowed_mentions is given without replied_user: true.
    if (
      referenced &&
      parsed.repliedUser &&
      referenced.authorId !== userId &&
      !mentions.includes(referenced.authorId)
    )
      mentions.push(referenced.authorId);
    const id = this.ids.next();
    const nonce = input.enforce_nonce === true && input.nonce !== undefined ? input.nonce : null;
    if (nonce !== null) {
      const first = await this.claimNonce(access, userId, nonce, id);
      if (first) return first;
    }
    const attachments = await this.claimAttachments(access, userId, id, attachmentIds).catch(
      async (err: unknown) => {
        if (nonce !== null) await this.releaseNonce(access, userId, nonce, id);
        throw err;
      },
    );
    const message: MessageRecord = {
      id,
      channelId: access.channel.id,
      guildId: access.channel.guildId,
      authorId: userId,
      content,
      editedAt: null,
      attachments,
      mentions,
      mentionRoles: parsed.roles,
      mentionEveryone: parsed.everyone,
      pinned: false,
      type: referenced ? MESSAGE_TYPE_REPLY : 0,
      nonce: input.nonce ?? null,
      referenceId: referenced?.id ?? null,
      embeds,
      flags: (input.flags ?? 0) & SETTABLE_FLAGS,
    };
    // The jobs that follow the message (previews, role mention counts, notifications) are stored with it: on
    // SQLite in its own group-committed transaction, on JetStream published while it is written. No write of
    // their own on the send path, and none is lost by a crash after the response.
    const followUps = this.jobs.withMessage(this.followUps(access, message));
    // The author and mentioned users are read while the write is in flight: no read-before-write.
    const [users] = await Promise.all([
      this.users.many([userId, ...mentions, ...(referenced ? [referenced.authorId] : [])]),
      this.storage.messages.create(message, followUps.rows).catch(async (err: unknown) => {
        // Give the uploads back so the client can retry with the same attachment ids.
        for (const a of attachments) await this.storage.attachments.detach(a.id, id).catch(() => undefined);
        if (nonce !== null) await this.releaseNonce(access, userId, nonce, id);
        throw err;
      }),
    ]);
    const known = message.mentions.filter((id) => users.has(id) && id !== userId);
    if (known.length !== message.mentions.length)
      message.mentions = message.mentions.filter((id) => users.has(id));
    const dto = toMessage(message, users, undefined, this.urls(access), referenced);
    // The message is stored: it is published before any counter work, so a failing mention counter can
    // neither hold the event back nor turn a stored message into an error whose retry would send it twice.
    this.bus.publish({
      type: 'MESSAGE_CREATE',
      scope: channelScope(access.channel),
      data: withAuthorMember(dto, access),
    });
    // In memory, written once a second (GET /admin/stats): no write on the send path.
    this.counters.count('messages');
    if (known.length > 0)
      await this.countMentions(access, message.channelId, known).catch((err: unknown) => {
        this.log.warn(`mention counts of message ${id} not updated (it is stored and sent): ${String(err)}`);
      });
    await followUps.stored();
    return dto;
  }

  /**
   * What a message must pass before it is stored: in a guild, AutoMod (rules compiled in memory); in a DM, the
   * recipient's block of the author (one cached keyed read).
   */
  private async screen(access: ChannelAccess, userId: string, content: string, edit: boolean): Promise<void> {
    if (access.guild !== null) return this.automod.enforce(access, userId, content, edit);
    if (edit) return;
    for (const other of access.channel.recipients)
      if (other !== userId && (await this.relationships.hasBlocked(other, userId))) throw cannotMessageUser();
  }

  /**
   * The durable jobs that follow a stored message, all off the request path:
   * - `messages.count_mentions`: role and @everyone mentions reach members not named in the message (work that
   *   grows with the guild), skipping the author and the users named, whose mentions the send counts itself;
   * - `notifications.message`: a DM, or a message that mentions someone, may notify people who are away (Web
   *   Push, email): one job per message, whatever the audience; who it reaches (settings, presence, devices) is
   *   worked out in the queue role (with pushes and email both off the job finds nothing to do: the send path
   *   does not read the notification config);
   * - `messages.unfurl`: its link previews (the content alone decides: no read).
   * Users named are taken as written (at most 100, and the replied-to author): the jobs look members up anyway.
   */
  private followUps(access: ChannelAccess, message: MessageRecord): MessageJob[] {
    const jobs: MessageJob[] = [];
    const named = message.mentions.filter((id) => id !== message.authorId).slice(0, 101);
    const wide = message.mentionRoles.length > 0 || message.mentionEveryone;
    if (message.guildId !== null && wide)
      jobs.push({
        name: 'messages.count_mentions',
        payload: {
          channel_id: message.channelId,
          message_id: message.id,
          author_id: message.authorId,
          role_ids: message.mentionRoles,
          everyone: message.mentionEveryone,
          counted: named,
        },
      });
    if (access.channel.guildId === null || named.length > 0 || wide)
      jobs.push({
        name: 'notifications.message',
        payload: {
          channel_id: message.channelId,
          message_id: message.id,
          author_id: message.authorId,
          user_ids: named,
          role_ids: message.mentionRoles,
          everyone: message.mentionEveryone,
        },
      });
    if (this.unfurls(message))
      jobs.push({
        name: 'messages.unfurl',
        payload: { channel_id: message.channelId, message_id: message.id },
      });
    return jobs;
  }

  /** Whether a message's links are to be unfurled: previews on, not suppressed, links in the text. */
  private unfurls(message: Pick<MessageRecord, 'content' | 'flags'>): boolean {
    return (
      this.previews?.enabled === true &&
      (message.flags & SUPPRESS_EMBEDS) === 0 &&
      hasUnfurlableLinks(message.content)
    );
  }

  /** The message is stored and sent: a failed enqueue costs its previews, never the message. */
  private async enqueueUnfurl(message: Pick<MessageRecord, 'id' | 'channelId'>): Promise<void> {
    await this.jobs
      .enqueue('messages.unfurl', { channel_id: message.channelId, message_id: message.id })
      .catch((err: unknown) => this.log.warn(`links of message ${message.id} not unfurled: ${String(err)}`));
  }

  /**
   * A webhook's message (execute): stored as the webhook (author id = webhook id, with the name and avatar
   * of this execution), then published and counted like any other send. No slowmode, nonce or reply, as on
   * Discord; `access` comes from AccessService.webhookChannel.
   */
  async createFromWebhook(
    access: ChannelAccess,
    webhook: MessageWebhookRecord,
    input: {
      content?: string;
      allowed_mentions?: AllowedMentions;
      embeds?: EmbedRecord[];
      flags?: number;
      attachments?: AttachmentRef[];
      id?: string;
    },
  ): Promise<MessageDto> {
    const content = input.content ?? '';
    const embeds = input.embeds ?? [];
    const attachments = input.attachments ?? [];
    if (content.trim().length === 0 && attachments.length === 0 && embeds.length === 0) {
      const err = new BadRequestError('Cannot send an empty message', 50006);
      err.errors = { content: [{ code: 'BASE_TYPE_REQUIRED', message: 'Content must not be empty' }] };
      throw err;
    }
    const parsed = this.mentionsOf(access, content, input.allowed_mentions);
    const message: MessageRecord = {
      id: input.id ?? this.ids.next(),
      channelId: access.channel.id,
      guildId: access.channel.guildId,
      authorId: webhook.id,
      content,
      editedAt: null,
      attachments,
      mentions: parsed.users,
      mentionRoles: parsed.roles,
      mentionEveryone: parsed.everyone,
      pinned: false,
      type: 0,
      nonce: null,
      referenceId: null,
      embeds,
      flags: (input.flags ?? 0) & SETTABLE_FLAGS,
      webhook,
    };
    const followUps = this.jobs.withMessage(this.followUps(access, message));
    const [users] = await Promise.all([
      this.users.many(message.mentions),
      this.storage.messages.create(message, followUps.rows),
    ]);
    message.mentions = message.mentions.filter((id) => users.has(id));
    const dto = toMessage(message, users, undefined, this.urls(access));
    this.bus.publish({ type: 'MESSAGE_CREATE', scope: channelScope(access.channel), data: dto });
    // As for a member's message: named users' mentions are counted here; role mentions, people away and links
    // by the jobs stored with the message.
    if (message.mentions.length > 0)
      await this.countMentions(access, message.channelId, message.mentions).catch((err: unknown) => {
        this.log.warn(`mention counts of message ${message.id} not updated: ${String(err)}`);
      });
    await followUps.stored();
    return dto;
  }

  /** A message the webhook `webhookId` sent in its channel; Unknown Message (10008) for any other. */
  async webhookMessage(access: ChannelAccess, webhookId: string, messageId: string): Promise<MessageRecord> {
    const message = await this.find(access.channel.id, messageId);
    if (message.webhook?.id !== webhookId) throw unknown('message');
    return message;
  }

  async getFromWebhook(access: ChannelAccess, webhookId: string, messageId: string): Promise<MessageDto> {
    const message = await this.webhookMessage(access, webhookId, messageId);
    const [dto] = await this.render(access.channel.id, [message], webhookId, this.urls(access));
    return dto;
  }

  /**
   * A webhook edits its own message (by token): content (mentions follow it, notifying nobody anew), embeds,
   * SUPPRESS_EMBEDS, and the attachments it keeps (files it no longer lists are deleted by the media job).
   */
  async editFromWebhook(
    access: ChannelAccess,
    message: MessageRecord,
    input: MessageEditInput & { attachments?: AttachmentRef[] },
  ): Promise<MessageDto> {
    const patch: MessagePatch = {};
    if (input.content !== undefined) {
      const parsed = this.mentionsOf(access, input.content, input.allowed_mentions);
      Object.assign(patch, {
        content: input.content,
        mentions: parsed.users,
        mentionRoles: parsed.roles,
        mentionEveryone: parsed.everyone,
      });
    }
    if (input.embeds !== undefined) patch.embeds = input.embeds;
    if (input.flags !== undefined)
      patch.flags = (message.flags & ~SUPPRESS_EMBEDS) | (input.flags & SUPPRESS_EMBEDS);
    if (input.attachments !== undefined) patch.attachments = input.attachments;
    const updated: MessageRecord = { ...message, ...patch };
    if (
      updated.content.trim().length === 0 &&
      updated.attachments.length === 0 &&
      updated.embeds.length === 0
    ) {
      const err = new BadRequestError('Cannot send an empty message', 50006);
      err.errors = { content: [{ code: 'BASE_TYPE_REQUIRED', message: 'Content must not be empty' }] };
      throw err;
    }
    if (Object.keys(patch).length === 0) {
      const [same] = await this.render(access.channel.id, [message], message.authorId, this.urls(access));
      return same;
    }
    patch.editedAt = Date.now();
    updated.editedAt = patch.editedAt;
    const kept = new Set(updated.attachments.map((a) => a.id));
    const removed = message.attachments.filter((a) => !kept.has(a.id)).map((a) => a.id);
    await this.storage.messages.update(access.channel.id, message.id, patch, message.guildId);
    // After the update: a failed enqueue leaves files unreferenced until their channel goes, never a message
    // pointing at deleted files.
    if (removed.length > 0)
      await this.jobs
        .enqueue('media.delete_attachments', { channel_id: access.channel.id, attachment_ids: removed })
        .catch((err: unknown) =>
          this.log.warn(`removed files of message ${message.id} not deleted: ${String(err)}`),
        );
    const [dto] = await this.render(access.channel.id, [updated], message.authorId, this.urls(access));
    this.bus.publish({
      type: 'MESSAGE_UPDATE',
      scope: channelScope(access.channel),
      data: { ...dto, reactions: undefined },
    });
    if (patch.content !== undefined && this.unfurls(updated)) await this.enqueueUnfurl(updated);
    return dto;
  }

  /** A webhook deletes its own message (by token): as a delete by its author, with its files and pin. */
  async deleteFromWebhook(access: ChannelAccess, message: MessageRecord): Promise<void> {
    const channelId = access.channel.id;
    if (message.attachments.length > 0)
      await this.jobs.enqueue('media.delete_attachments', {
        channel_id: channelId,
        attachment_ids: message.attachments.map((a) => a.id),
      });
    await this.storage.messages.delete(channelId, message.id, message.guildId);
    await this.storage.reactions.deleteForMessage(channelId, message.id);
    if (message.pinned) await this.storage.pins.remove(channelId, message.id);
    this.bus.publish({
      type: 'MESSAGE_DELETE',
      scope: channelScope(access.channel),
      data: {
        id: message.id,
        channel_id: channelId,
        ...(access.channel.guildId ? { guild_id: access.channel.guildId } : {}),
      },
    });
  }

  /** Counts a direct mention for each named user who may see the channel; returns who was counted. */
  private async countMentions(access: ChannelAccess, channelId: string, known: string[]): Promise<string[]> {
    const notified = await this.mayView(access, known);
    if (notified.length > 0) await this.storage.readStates.incrementMentions(channelId, notified);
    return notified;
  }

  /**
   * Discord's `enforce_nonce`: the first send with this nonce from this author in this channel within
   * NONCE_TTL_MS claims it; a repeat answers with that first message instead of storing another. A claim
   * whose message is not stored (its send failed after claiming, or is still being written) is taken over
   * by this send, so a retry after a failure is never refused.
   */
  private async claimNonce(
    access: ChannelAccess,
    userId: string,
    nonce: string,
    id: string,
  ): Promise<MessageDto | null> {
    const channelId = access.channel.id;
    const claims = this.storage.messages;
    for (let attempt = 0; attempt < 2; attempt++) {
      const held = await claims.claimNonce(channelId, userId, nonce, id, NONCE_TTL_MS);
      if (held === null) return null;
      const [first] = await claims.findMany(channelId, [held]);
      if (first) return (await this.render(channelId, [first], userId, this.urls(access)))[0];
      await claims.releaseNonce(channelId, userId, nonce, held);
    }
    return null;
  }

  private async releaseNonce(
    access: ChannelAccess,
    userId: string,
    nonce: string,
    id: string,
  ): Promise<void> {
    await this.storage.messages.releaseNonce(access.channel.id, userId, nonce, id).catch(() => undefined);
  }

  async edit(
    channelId: string,
    userId: string,
    messageId: string,
    input: MessageEditInput,
  ): Promise<MessageDto> {
    const access = await this.access.channel(channelId, userId);
    const message = await this.find(access.channel.id, messageId);
    // Others' messages: only SUPPRESS_EMBEDS may be toggled, with MANAGE_MESSAGES (Discord's rule).
    const flagsOnly = input.content === undefined && input.embeds === undefined;
    if (
      message.authorId !== userId &&
      !(flagsOnly && PermissionCalculator.has(access.permissions, Permission.MANAGE_MESSAGES))
    )
      throw new ForbiddenError('Cannot edit a message authored by another user', 50005);
    // A timed-out member cannot change what they said either (Discord: no SEND_MESSAGES while timed out).
    if (access.guild?.timedOut) throw new ForbiddenError();
    const patch: MessagePatch = {};
    if (input.content !== undefined) {
      if (message.authorId === userId) await this.screen(access, userId, input.content, true);
      // An edit changes who is shown as mentioned; as on Discord, it notifies nobody anew.
      const parsed = this.mentionsOf(access, input.content, input.allowed_mentions);
      Object.assign(patch, {
        content: input.content,
        editedAt: Date.now(),
        mentions: parsed.users,
        mentionRoles: parsed.roles,
        mentionEveryone: parsed.everyone,
      });
    }
    if (input.embeds !== undefined) patch.embeds = proxiedEmbeds(input.embeds, this.imageProxy);
    if (input.flags !== undefined)
      patch.flags = (message.flags & ~SUPPRESS_EMBEDS) | (input.flags & SUPPRESS_EMBEDS);
    const suppressing = patch.flags !== undefined && (patch.flags & SUPPRESS_EMBEDS) !== 0;
    // Suppressing removes the link previews (the sender's own embeds are kept, hidden while the flag is set).
    if (suppressing && !(message.flags & SUPPRESS_EMBEDS))
      patch.embeds = (patch.embeds ?? message.embeds).filter(
        (e) => e.type === undefined || e.type === 'rich',
      );
    if (patch.editedAt === undefined && input.embeds !== undefined) patch.editedAt = Date.now();
    if (Object.keys(patch).length === 0) {
      const [same] = await this.render(access.channel.id, [message], userId, this.urls(access));
      return same;
    }
    await this.storage.messages.update(access.channel.id, messageId, patch, message.guildId);
    const updated: MessageRecord = { ...message, ...patch };
    const [dto] = await this.render(access.channel.id, [updated], userId, this.urls(access));
    // The author's member is at hand only when the author edits (a moderator's SUPPRESS_EMBEDS goes without it).
    const byAuthor = message.authorId === userId && USER_MESSAGE_TYPES.has(message.type);
    this.bus.publish({
      type: 'MESSAGE_UPDATE',
      scope: channelScope(access.channel),
      data: { ...(byAuthor ? withAuthorMember(dto, access) : dto), reactions: undefined },
    });
    // New text, or previews allowed again: its links are unfurled anew (the job replaces the old previews).
    const unsuppressed = patch.flags !== undefined && !suppressing && (message.flags & SUPPRESS_EMBEDS) !== 0;
    const hadPreviews = updated.embeds.some((e) => e.type !== undefined && e.type !== 'rich');
    if (
      (patch.content !== undefined || unsuppressed) &&
      (this.unfurls(updated) || (hadPreviews && this.previews?.enabled === true))
    )
      await this.enqueueUnfurl(updated);
    return dto;
  }

  async delete(
    channelId: string,
    userId: string,
    messageId: string,
    reason: string | null = null,
  ): Promise<void> {
    const access = await this.access.channel(channelId, userId);
    const message = await this.find(access.channel.id, messageId);
    if (
      message.authorId !== userId &&
      !PermissionCalculator.has(access.permissions, Permission.MANAGE_MESSAGES)
    ) {
      throw new ForbiddenError();
    }
    // Queued before the delete: if the process dies in between, the files still go.
    if (message.attachments.length > 0) {
      await this.jobs.enqueue('media.delete_attachments', {
        channel_id: access.channel.id,
        attachment_ids: message.attachments.map((a) => a.id),
      });
    }
    await this.storage.messages.delete(access.channel.id, messageId, message.guildId);
    await this.storage.reactions.deleteForMessage(access.channel.id, messageId);
    if (message.pinned) await this.storage.pins.remove(access.channel.id, messageId);
    this.bus.publish({
      type: 'MESSAGE_DELETE',
      scope: channelScope(access.channel),
      data: {
        id: messageId,
        channel_id: access.channel.id,
        ...(access.channel.guildId ? { guild_id: access.channel.guildId } : {}),
      },
    });
    // Discord logs a delete by someone other than the author only.
    if (access.channel.guildId && message.authorId !== userId)
      this.audit.record({
        guildId: access.channel.guildId,
        userId,
        actionType: AuditLogEvent.MESSAGE_DELETE,
        targetId: message.authorId,
        reason,
        options: { channel_id: access.channel.id, count: '1' },
      });
  }

  /**
   * Discord's bulk delete: 2..100 ids, MANAGE_MESSAGES, none older than two weeks (checked on the ids, before
   * any read); ids naming no message of this channel count towards the limits and are skipped.
   */
  async bulkDelete(
    channelId: string,
    userId: string,
    messageIds: readonly string[],
    reason: string | null = null,
  ): Promise<void> {
    const access = await this.access.requireChannel(channelId, userId, Permission.MANAGE_MESSAGES);
    if (new Set(messageIds).size !== messageIds.length) {
      const err = new BadRequestError('Invalid Form Body');
      err.errors = { messages: [{ code: 'BASE_TYPE_DUPLICATE', message: 'Message ids must be unique' }] };
      throw err;
    }
    const oldest = Date.now() - BULK_DELETE_MAX_AGE_MS;
    if (messageIds.some((id) => snowflakeTime(id) < oldest))
      throw new BadRequestError('You can only bulk delete messages that are under 14 days old.', 50034);
    const channel = access.channel;
    const found = await Promise.all(messageIds.map((id) => this.storage.messages.find(channel.id, id)));
    const messages = found.filter((m): m is MessageRecord => m !== null);
    if (messages.length === 0) return;
    const attachmentIds = messages.flatMap((m) => m.attachments.map((a) => a.id));
    // Queued before the deletes, as for a single delete: the files go even if the process dies in between.
    if (attachmentIds.length > 0)
      await this.jobs.enqueue('media.delete_attachments', {
        channel_id: channel.id,
        attachment_ids: attachmentIds,
      });
    await Promise.all(
      messages.map(async (m) => {
        await this.storage.messages.delete(channel.id, m.id, m.guildId);
        await this.storage.reactions.deleteForMessage(channel.id, m.id);
        if (m.pinned) await this.storage.pins.remove(channel.id, m.id);
      }),
    );
    this.bus.publish({
      type: 'MESSAGE_DELETE_BULK',
      scope: channelScope(channel),
      data: {
        ids: messages.map((m) => m.id),
        channel_id: channel.id,
        ...(channel.guildId ? { guild_id: channel.guildId } : {}),
      },
    });
    if (channel.guildId)
      this.audit.record({
        guildId: channel.guildId,
        userId,
        actionType: AuditLogEvent.MESSAGE_BULK_DELETE,
        targetId: channel.id,
        reason,
        options: { count: String(messages.length) },
      });
  }

  // --- reactions ----------------------------------------------------------------------------

  async react(channelId: string, userId: string, messageId: string, emoji: ReactionEmoji): Promise<void> {
    const access = await this.access.requireChannel(channelId, userId, Permission.READ_MESSAGE_HISTORY);
    const reaction = await this.reactionOf(access, emoji, true);
    await this.find(access.channel.id, messageId);
    const counts = await this.storage.reactions.counts(access.channel.id, [messageId], userId);
    const exists = counts.some((c) => c.emoji === reaction.key);
    // Adding to an existing reaction needs only history access; starting a new one needs ADD_REACTIONS.
    if (!exists && !PermissionCalculator.has(access.permissions, Permission.ADD_REACTIONS))
      throw new ForbiddenError();
    if (await this.storage.reactions.add(access.channel.id, messageId, reaction.key, userId)) {
      this.bus.publish({
        type: 'MESSAGE_REACTION_ADD',
        scope: channelScope(access.channel),
        data: this.reactionEvent(access, messageId, reaction.emoji, userId),
      });
    }
  }

  async unreact(channelId: string, userId: string, messageId: string, emoji: ReactionEmoji): Promise<void> {
    const access = await this.access.channel(channelId, userId);
    const reaction = await this.reactionOf(access, emoji, false);
    await this.find(access.channel.id, messageId);
    if (await this.storage.reactions.remove(access.channel.id, messageId, reaction.key, userId)) {
      this.bus.publish({
        type: 'MESSAGE_REACTION_REMOVE',
        scope: channelScope(access.channel),
        data: this.reactionEvent(access, messageId, reaction.emoji, userId),
      });
    }
  }

  async reactors(
    channelId: string,
    userId: string,
    messageId: string,
    emoji: ReactionEmoji,
    limit: number,
    after?: string,
  ): Promise<PublicUser[]> {
    const access = await this.access.requireChannel(channelId, userId, Permission.READ_MESSAGE_HISTORY);
    const reaction = await this.reactionOf(access, emoji, false);
    await this.find(access.channel.id, messageId);
    const ids = await this.storage.reactions.listUsers(access.channel.id, messageId, reaction.key, {
      limit,
      after,
    });
    const users = await this.users.many(ids);
    return ids.flatMap((id) => (users.has(id) ? [users.get(id)!] : []));
  }

  /**
   * The storage key and event shape of a reaction's emoji. A custom emoji is keyed by its id and must belong to
   * the channel's guild (Discord's 10014 otherwise; none in DMs). Adding one (`use`) also needs one of its roles
   * when it is restricted; taking one away or listing works after the emoji is deleted (name null).
   */
  private async reactionOf(
    access: ChannelAccess,
    emoji: ReactionEmoji,
    use: boolean,
  ): Promise<{ key: string; emoji: ReactionEmojiDto }> {
    if (emoji.kind === 'unicode') return { key: emoji.name, emoji: { name: emoji.name } };
    const guildId = access.channel.guildId;
    if (guildId === null) throw unknown('emoji');
    const found = await this.storage.emojis.find(guildId, emoji.id);
    if (!found && use) throw unknown('emoji');
    if (found && use && found.roles.length > 0 && access.guild) {
      const held = new Set(access.guild.member.roles);
      const exempt =
        access.guild.guild.ownerId === access.guild.member.userId ||
        PermissionCalculator.has(access.guild.permissions, Permission.ADMINISTRATOR);
      if (!exempt && !found.roles.some((r) => held.has(r)))
        throw new ForbiddenError('This emoji is limited to some roles');
    }
    return {
      key: emoji.id,
      emoji: { id: emoji.id, name: found?.name ?? null, animated: found?.animated ?? false },
    };
  }

  private reactionEvent(access: ChannelAccess, messageId: string, emoji: ReactionEmojiDto, userId: string) {
    return {
      user_id: userId,
      channel_id: access.channel.id,
      message_id: messageId,
      ...(access.channel.guildId ? { guild_id: access.channel.guildId } : {}),
      emoji,
    };
  }

  // --- typing and read states ---------------------------------------------------------------

  async typing(channelId: string, userId: string): Promise<void> {
    const access = await this.access.requireChannel(channelId, userId, Permission.SEND_MESSAGES);
    const member = access.guild ? await this.typingMember(access.guild.member) : undefined;
    this.bus.publish({
      type: 'TYPING_START',
      scope: channelScope(access.channel),
      data: {
        channel_id: access.channel.id,
        ...(access.channel.guildId ? { guild_id: access.channel.guildId } : {}),
        user_id: userId,
        timestamp: Math.floor(Date.now() / 1000),
        ...(member ? { member } : {}),
      },
    });
  }

  /**
   * Discord's `member` of a guild TYPING_START: who is typing, named even where the member list is not loaded (a
   * large guild lists only who is online). The member record is the one the permission check loaded; the user is
   * the author lookup messages use (cached on Cassandra), one read per event whatever the number of recipients.
   */
  private async typingMember(member: MemberRecord): Promise<MemberDto | undefined> {
    const user = (await this.users.many([member.userId])).get(member.userId);
    return user ? toMember(member, user) : undefined;
  }

  async ack(channelId: string, userId: string, messageId: string): Promise<void> {
    const access = await this.access.channel(channelId, userId);
    if (!isSnowflake(messageId)) throw unknown('message');
    await this.find(access.channel.id, messageId);
    await this.storage.readStates.ack(userId, access.channel.id, messageId);
    this.bus.publish({
      type: 'MESSAGE_ACK',
      scope: { kind: 'user', id: userId },
      data: { channel_id: access.channel.id, message_id: messageId, mention_count: 0 },
    });
  }

  async readStates(userId: string): Promise<ReadStateDto[]> {
    const states = await this.storage.readStates.list(userId);
    return states.map((s) => ({
      channel_id: s.channelId,
      last_message_id: s.lastMessageId,
      mention_count: s.mentionCount,
    }));
  }

  // --- helpers ------------------------------------------------------------------------------

  private async find(channelId: string, messageId: string): Promise<MessageRecord> {
    const message = isSnowflake(messageId) ? await this.storage.messages.find(channelId, messageId) : null;
    if (!message) throw unknown('message');
    return message;
  }

  /** Renders messages of one channel the caller may read (search results come grouped by channel). */
  renderIn(access: ChannelAccess, messages: MessageRecord[], viewerId: string): Promise<MessageDto[]> {
    return this.render(access.channel.id, messages, viewerId, this.urls(access));
  }

  /**
   * The message a reply refers to: in this channel, else 400 on `message_reference` (Discord's shape), or no
   * reference at all when the client set fail_if_not_exists to false.
   */
  private async referenced(access: ChannelAccess, ref: MessageReferenceInput): Promise<MessageRecord | null> {
    const { channel } = access;
    const elsewhere =
      (ref.channel_id !== undefined && ref.channel_id !== channel.id) ||
      (ref.guild_id !== undefined && ref.guild_id !== channel.guildId);
    const found = elsewhere ? null : await this.storage.messages.find(channel.id, ref.message_id);
    if (found || ref.fail_if_not_exists === false) return found;
    const err = new BadRequestError('Invalid Form Body');
    err.errors = {
      message_reference: [{ code: 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', message: 'Unknown message' }],
    };
    throw err;
  }

  private urls(access: ChannelAccess): AttachmentUrl {
    return attachmentUrls(access.channel, access.guild?.roles ?? null, this.signer ?? null);
  }

  /**
   * Claims the caller's unattached uploads of this channel for the new message; any id that is
   * unknown, someone else's, from another channel or already used fails the whole message with 400.
   */
  private async claimAttachments(
    access: ChannelAccess,
    userId: string,
    messageId: string,
    ids: string[],
  ): Promise<AttachmentRef[]> {
    const refs: AttachmentRef[] = [];
    const claim = { channelId: access.channel.id, uploaderId: userId, messageId };
    try {
      for (const [index, id] of ids.entries()) {
        const record = await this.storage.attachments.find(id);
        if (
          !record ||
          record.channelId !== claim.channelId ||
          record.uploaderId !== userId ||
          !(await this.storage.attachments.attach(id, claim))
        ) {
          const err = new BadRequestError('Invalid attachment', 50035);
          err.errors = {
            [`attachment_ids.${index}`]: [
              {
                code: 'ATTACHMENT_INVALID',
                message: 'Not an unused upload of yours in this channel',
              },
            ],
          };
          throw err;
        }
        refs.push({
          id: record.id,
          filename: record.filename,
          size: record.size,
          contentType: record.contentType,
          width: record.width,
          height: record.height,
        });
      }
    } catch (err) {
      for (const ref of refs) await this.storage.attachments.detach(ref.id, messageId);
      throw err;
    }
    return refs;
  }

  private async render(
    channelId: string,
    messages: MessageRecord[],
    viewerId: string,
    url: AttachmentUrl,
  ): Promise<MessageDto[]> {
    if (messages.length === 0) return [];
    // Replies' originals: those on the page already, the rest in one read for the whole page, beside the
    // authors and reactions (no extra round trip for a page without replies to older messages).
    const onPage = new Map(messages.map((m) => [m.id, m]));
    const missing = [
      ...new Set(
        messages.flatMap((m) => (m.referenceId && !onPage.has(m.referenceId) ? [m.referenceId] : [])),
      ),
    ];
    const ids = new Set<string>();
    for (const m of messages) {
      ids.add(m.authorId);
      for (const id of m.mentions) ids.add(id);
    }
    const [fetched, pageUsers, counts] = await Promise.all([
      missing.length > 0 ? this.storage.messages.findMany(channelId, missing) : [],
      this.users.many(ids),
      this.storage.reactions.counts(
        channelId,
        messages.map((m) => m.id),
        viewerId,
      ),
    ]);
    const originals = new Map([...onPage, ...fetched.map((m): [string, MessageRecord] => [m.id, m])]);
    const unseen = new Set(fetched.flatMap((m) => [m.authorId, ...m.mentions]).filter((id) => !ids.has(id)));
    const users = unseen.size > 0 ? new Map([...pageUsers, ...(await this.users.many(unseen))]) : pageUsers;
    // Custom emoji reactions are keyed by id: their names come from the guild's list, read only for pages
    // that have any (one small partition).
    const guildId = messages[0].guildId;
    const emojis =
      guildId !== null && counts.some((c) => isCustomReactionKey(c.emoji))
        ? new Map((await this.storage.emojis.list(guildId)).map((e) => [e.id, e]))
        : new Map<string, EmojiRecord>();
    const reactions = toReactions(counts, (key) => toReactionEmoji(key, emojis));
    return messages.map((m) =>
      toMessage(
        m,
        users,
        reactions.get(m.id),
        url,
        m.referenceId ? (originals.get(m.referenceId) ?? null) : null,
      ),
    );
  }

  /**
   * The mentioned users who may see the channel, so a mention never counts for someone it is hidden from:
   * DM recipients, or guild members whose permissions there (roles and overwrites) include VIEW_CHANNEL.
   * One read for all of them (mentions are capped at MAX_MENTIONS), reusing the guild and roles already loaded.
   */
  private async mayView(access: ChannelAccess, userIds: string[]): Promise<string[]> {
    const { channel, guild } = access;
    if (!guild) return userIds.filter((id) => channel.recipients.includes(id));
    const members = await this.storage.members.findMany(guild.guild.id, userIds);
    return members
      .filter((member) =>
        PermissionCalculator.has(
          this.access.channelPermissions(this.access.build(guild.guild, member, guild.roles), channel),
          Permission.VIEW_CHANNEL,
        ),
      )
      .map((member) => member.userId);
  }

  private mentionsOf(access: ChannelAccess, content: string, allowed: AllowedMentions | undefined) {
    return parseMentions(content, allowed, {
      roles: access.guild?.roles ?? null,
      mentionEveryone: PermissionCalculator.has(access.permissions, Permission.MENTION_EVERYONE),
    });
  }
}
