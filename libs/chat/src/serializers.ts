import {
  type BanDto,
  type ChannelDto,
  type ChannelTypeValue,
  type GuildDto,
  type ReactionEmojiDto,
  type InviteDto,
  type MemberDto,
  type MessageDto,
  type MessageMemberDto,
  type PublicUser,
  type ReactionDto,
  type RoleDto,
  isoTime,
  snowflakeTime,
} from '@parley/common';
import type {
  BanRecord,
  ChannelRecord,
  GuildRecord,
  InviteRecord,
  MemberRecord,
  MessageRecord,
  ReactionCount,
  RoleRecord,
} from '@parley/storage';
import { type AttachmentUrl, attachmentPath } from './attachment-urls';

export function toGuild(guild: GuildRecord): GuildDto {
  return {
    id: guild.id,
    name: guild.name,
    icon: guild.icon,
    owner_id: guild.ownerId,
    created_at: isoTime(guild.createdAt),
    default_message_notifications: guild.defaultMessageNotifications,
  };
}

export function toRole(role: RoleRecord): RoleDto {
  return {
    id: role.id,
    guild_id: role.guildId,
    name: role.name,
    permissions: role.permissions,
    color: role.color,
    position: role.position,
    mentionable: role.mentionable,
  };
}

export function toChannel(
  channel: ChannelRecord,
  lastMessageId: string | null,
  recipients?: PublicUser[],
): ChannelDto {
  if (channel.guildId === null) {
    return {
      id: channel.id,
      type: channel.type as ChannelTypeValue,
      recipients: recipients ?? [],
      last_message_id: lastMessageId,
    };
  }
  return {
    id: channel.id,
    type: channel.type as ChannelTypeValue,
    guild_id: channel.guildId,
    name: channel.name ?? '',
    topic: channel.topic,
    parent_id: channel.parentId,
    position: channel.position,
    permission_overwrites: channel.overwrites.map((o) => ({
      id: o.id,
      type: o.type,
      allow: o.allow,
      deny: o.deny,
    })),
    rate_limit_per_user: channel.rateLimitPerUser ?? 0,
    last_message_id: lastMessageId,
  };
}

export function toMember(member: MemberRecord, user: PublicUser): MemberDto {
  return { guild_id: member.guildId, user, ...toMessageMember(member) };
}

/** The member without its user and guild, as a guild message's `member` carries it (Discord's partial member). */
export function toMessageMember(member: MemberRecord): MessageMemberDto {
  return {
    nick: member.nick,
    roles: member.roles,
    joined_at: isoTime(member.joinedAt),
    communication_disabled_until: timedOutUntil(member, Date.now()),
  };
}

/** The end of a member's timeout as Discord shows it, or null once it has passed (it ends by the clock). */
export function timedOutUntil(member: MemberRecord, now: number): string | null {
  const until = member.communicationDisabledUntil ?? null;
  return until !== null && until > now ? isoTime(until) : null;
}

export function toBan(ban: BanRecord, user: PublicUser): BanDto {
  return { user, reason: ban.reason };
}

export function toInvite(
  invite: InviteRecord,
  guild: GuildRecord,
  channel: ChannelRecord | null,
  inviter: PublicUser | null,
): InviteDto {
  return {
    code: invite.code,
    guild: { id: guild.id, name: guild.name, icon: guild.icon },
    channel: { id: invite.channelId, name: channel?.name ?? null, type: channel?.type ?? 0 },
    inviter,
    uses: invite.uses,
    max_uses: invite.maxUses,
    max_age: invite.maxAge,
    created_at: isoTime(invite.createdAt),
    expires_at: invite.expiresAt === null ? null : isoTime(invite.expiresAt),
  };
}

export function toMessage(
  message: MessageRecord,
  users: ReadonlyMap<string, PublicUser>,
  reactions?: ReactionDto[],
  url: AttachmentUrl = attachmentPath,
  /** A reply's original as read for this answer: null when it is gone. */
  referenced: MessageRecord | null = null,
): MessageDto {
  const dto: MessageDto = {
    id: message.id,
    channel_id: message.channelId,
    // A webhook's message shows the webhook as a bot user under the name and avatar of that execution.
    author: message.webhook
      ? {
          id: message.webhook.id,
          username: message.webhook.name,
          display_name: null,
          avatar: message.webhook.avatar,
          bot: true,
        }
      : (users.get(message.authorId) ?? {
          id: message.authorId,
          username: 'deleted_user',
          display_name: null,
          avatar: null,
        }),
    content: message.content,
    timestamp: isoTime(snowflakeTime(message.id)),
    edited_timestamp: message.editedAt === null ? null : isoTime(message.editedAt),
    attachments: message.attachments.map((a) => ({
      id: a.id,
      filename: a.filename,
      size: a.size,
      content_type: a.contentType,
      ...(a.width !== null ? { width: a.width } : {}),
      ...(a.height !== null ? { height: a.height } : {}),
      ...(a.description !== undefined ? { description: a.description } : {}),
      url: url(message.channelId, a),
    })),
    mentions: message.mentions.flatMap((id) => {
      const user = users.get(id);
      return user ? [user] : [];
    }),
    mention_roles: message.mentionRoles,
    // SUPPRESS_EMBEDS (1 << 2) hides them, as Discord serialises such a message.
    embeds: message.flags & 4 ? [] : withAttachmentImages(message, url),
    flags: message.flags,
    mention_everyone: message.mentionEveryone,
    pinned: message.pinned,
    type: message.type,
  };
  if (message.guildId !== null) dto.guild_id = message.guildId;
  if (message.webhook) dto.webhook_id = message.webhook.id;
  if (message.nonce !== null) dto.nonce = message.nonce;
  if (reactions && reactions.length > 0) dto.reactions = reactions;
  if (message.referenceId !== null) {
    dto.message_reference = {
      type: 0,
      message_id: message.referenceId,
      channel_id: message.channelId,
      ...(message.guildId !== null ? { guild_id: message.guildId } : {}),
    };
    // Discord returns the referenced message only for replies (a pin's type 6 notice has just the reference).
    if (message.type === 19)
      dto.referenced_message = referenced ? toMessage(referenced, users, undefined, url) : null;
  }
  return dto;
}

/**
 * Discord's `attachment://<filename>` in an embed's image or thumbnail names a file of the same message: it is
 * stored as given and answered as that file's URL (signed afresh on every read where the channel needs it).
 */
function withAttachmentImages(message: MessageRecord, url: AttachmentUrl): MessageRecord['embeds'] {
  const refers = (u: string | undefined) => u !== undefined && u.startsWith(ATTACHMENT_SCHEME);
  if (!message.embeds.some((e) => refers(e.image?.url) || refers(e.thumbnail?.url))) return message.embeds;
  const resolve = <M extends { url: string; proxy_url?: string }>(media: M | undefined): M | undefined => {
    if (!media || !refers(media.url)) return media;
    const name = media.url.slice(ATTACHMENT_SCHEME.length);
    const file = message.attachments.find((a) => a.filename === name);
    if (!file) return media;
    const link = url(message.channelId, file);
    return { ...media, url: link, proxy_url: link };
  };
  return message.embeds.map((e) => ({ ...e, image: resolve(e.image), thumbnail: resolve(e.thumbnail) }));
}
const ATTACHMENT_SCHEME = 'attachment://';

export function toReactions(
  counts: ReactionCount[],
  emojiOf: (key: string) => ReactionEmojiDto = (name) => ({ name }),
): Map<string, ReactionDto[]> {
  const byMessage = new Map<string, ReactionDto[]>();
  for (const c of counts) {
    let list = byMessage.get(c.messageId);
    if (!list) byMessage.set(c.messageId, (list = []));
    list.push({ emoji: emojiOf(c.emoji), count: c.count, me: c.me });
  }
  return byMessage;
}
