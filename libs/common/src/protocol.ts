/** Wire shapes of the public contract (REST bodies and gateway dispatch payloads). */
export interface PublicUser {
  id: string;
  username: string;
  display_name: string | null;
  avatar: string | null;
  /** Discord's: present (true) only for bot users. */
  bot?: true;
}

export interface SelfUser extends PublicUser {
  email: string;
  /** Discord's `verified`: the email address was confirmed. */
  verified: boolean;
  /** Discord's `mfa_enabled`: TOTP two-factor authentication is on. */
  mfa_enabled: boolean;
  created_at: string;
}

export interface RoleDto {
  id: string;
  guild_id: string;
  name: string;
  permissions: string;
  color: number;
  position: number;
  /** Anyone may mention it (`<@&id>`); otherwise only members with MENTION_EVERYONE. */
  mentionable: boolean;
}

export interface OverwriteDto {
  id: string;
  type: 0 | 1;
  allow: string;
  deny: string;
}

export const ChannelType = { TEXT: 0, DM: 1, VOICE: 2, CATEGORY: 4 } as const;
export type ChannelTypeValue = (typeof ChannelType)[keyof typeof ChannelType];

export interface ChannelDto {
  id: string;
  type: ChannelTypeValue;
  guild_id?: string;
  name?: string;
  topic?: string | null;
  parent_id?: string | null;
  position?: number;
  permission_overwrites?: OverwriteDto[];
  /** Slowmode: seconds a member waits between messages (guild text channels). */
  rate_limit_per_user?: number;
  recipients?: PublicUser[];
  last_message_id: string | null;
}

export interface GuildDto {
  id: string;
  name: string;
  icon: string | null;
  owner_id: string;
  created_at: string;
  /** 0 all messages, 1 only mentions: the level of members who chose none. */
  default_message_notifications: number;
}

export interface GuildFullDto extends GuildDto {
  channels: ChannelDto[];
  roles: RoleDto[];
  /** The guild's custom emoji. */
  emojis: EmojiDto[];
}

export interface MemberDto {
  guild_id: string;
  user: PublicUser;
  nick: string | null;
  roles: string[];
  joined_at: string;
  /** ISO 8601 while timed out (Discord's field); null otherwise. */
  communication_disabled_until: string | null;
}

/**
 * Discord's partial guild member of a guild MESSAGE_CREATE / MESSAGE_UPDATE: the author's member without `user`
 * (the message's `author` is that user) nor `guild_id` (the message's own).
 */
export type MessageMemberDto = Omit<MemberDto, 'user' | 'guild_id'>;

export interface AttachmentDto {
  id: string;
  filename: string;
  size: number;
  content_type: string;
  width?: number;
  height?: number;
  /** Alt text, when the sender gave one (webhooks and bots, Discord's `description`). */
  description?: string;
  url: string;
}

/** A guild's custom emoji (Discord's emoji object). `user` only in REST answers to MANAGE_GUILD_EXPRESSIONS. */
export interface EmojiDto {
  id: string;
  name: string;
  /** Roles allowed to use it; empty: everyone. */
  roles: string[];
  user?: PublicUser;
  require_colons: true;
  managed: false;
  animated: boolean;
  available: true;
}

/** A reaction's emoji: unicode `{name}`, or a custom one `{id, name, animated}` (name null once deleted). */
export type ReactionEmojiDto = { name: string } | { id: string; name: string | null; animated: boolean };

export interface ReactionDto {
  emoji: ReactionEmojiDto;
  count: number;
  me: boolean;
}

export interface MessageDto {
  id: string;
  channel_id: string;
  guild_id?: string;
  author: PublicUser;
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  attachments: AttachmentDto[];
  mentions: PublicUser[];
  /** Ids of the roles mentioned (`<@&id>`) and allowed to be. */
  mention_roles: string[];
  mention_everyone: boolean;
  reactions?: ReactionDto[];
  nonce?: string;
  pinned: boolean;
  type: number;
  /** Replies (type 19): where the replied-to message is. */
  message_reference?: MessageReferenceDto;
  /** Discord's embed objects; empty while SUPPRESS_EMBEDS (1 << 2) is in `flags`. */
  embeds: EmbedDto[];
  flags: number;
  /** Replies: the replied-to message, null once it is deleted. */
  referenced_message?: MessageDto | null;
  /** A webhook's message: the webhook (its `author` is the webhook user Discord shows, `bot: true`). */
  webhook_id?: string;
  /**
   * Gateway only (MESSAGE_CREATE, and MESSAGE_UPDATE of an edit by its author), in guilds: the author's guild
   * member as Discord sends it. Not in REST answers, webhook or system messages (as on Discord).
   */
  member?: MessageMemberDto;
}

/** Discord's webhook object (incoming webhooks, type 1). */
export interface WebhookDto {
  id: string;
  type: 1;
  guild_id: string;
  channel_id: string;
  /** Who created it (absent once that user is gone). */
  user?: PublicUser;
  name: string;
  avatar: string | null;
  application_id: null;
  /** Shown to channel managers and to holders of the token, as Discord does. */
  token?: string;
  url?: string;
}

/** Discord's embed object (the same shape is stored). */
export interface EmbedDto {
  title?: string;
  type?: string;
  description?: string;
  url?: string;
  timestamp?: string;
  color?: number;
  footer?: { text: string; icon_url?: string };
  image?: EmbedMediaDto;
  thumbnail?: EmbedMediaDto;
  video?: EmbedMediaDto;
  provider?: { name?: string; url?: string };
  author?: { name: string; url?: string; icon_url?: string };
  fields?: { name: string; value: string; inline?: boolean }[];
}

export interface EmbedMediaDto {
  url: string;
  proxy_url?: string;
  width?: number;
  height?: number;
}

export interface MessageReferenceDto {
  /** 0: DEFAULT (a reply). */
  type: 0;
  message_id: string;
  channel_id: string;
  guild_id?: string;
}

export interface ReadStateDto {
  channel_id: string;
  last_message_id: string | null;
  mention_count: number;
}

export interface InviteDto {
  code: string;
  guild: { id: string; name: string; icon: string | null };
  channel: { id: string; name: string | null; type: number };
  inviter: PublicUser | null;
  uses: number;
  max_uses: number;
  max_age: number;
  created_at: string;
  expires_at: string | null;
}

export interface BanDto {
  user: PublicUser;
  reason: string | null;
}

/** Discord's mute_config: muted until `end_time` (null: until unmuted). */
export interface MuteConfigDto {
  end_time: string | null;
  selected_time_window: number;
}

export interface ChannelOverrideDto {
  channel_id: string;
  message_notifications: number;
  muted: boolean;
  mute_config: MuteConfigDto | null;
  collapsed: boolean;
}

/** A user's notification settings in one guild, in Discord's user guild settings shape. */
export interface UserGuildSettingsDto {
  guild_id: string;
  message_notifications: number;
  muted: boolean;
  mute_config: MuteConfigDto | null;
  suppress_everyone: boolean;
  suppress_roles: boolean;
  mobile_push: boolean;
  hide_muted_channels: boolean;
  notify_highlights: number;
  flags: number;
  channel_overrides: ChannelOverrideDto[];
  version: number;
}

export const DISPATCH_TYPES = [
  'READY',
  'RESUMED',
  'INVALID_SESSION',
  'MESSAGE_CREATE',
  'MESSAGE_UPDATE',
  'MESSAGE_DELETE',
  'MESSAGE_DELETE_BULK',
  'MESSAGE_REACTION_ADD',
  'MESSAGE_REACTION_REMOVE',
  'MESSAGE_ACK',
  'TYPING_START',
  'PRESENCE_UPDATE',
  'GUILD_CREATE',
  'GUILD_UPDATE',
  'GUILD_DELETE',
  'GUILD_MEMBER_ADD',
  'GUILD_MEMBER_UPDATE',
  'GUILD_MEMBER_REMOVE',
  'GUILD_BAN_ADD',
  'GUILD_BAN_REMOVE',
  'GUILD_AUDIT_LOG_ENTRY_CREATE',
  'AUTO_MODERATION_RULE_CREATE',
  'AUTO_MODERATION_RULE_UPDATE',
  'AUTO_MODERATION_RULE_DELETE',
  'AUTO_MODERATION_ACTION_EXECUTION',
  'RELATIONSHIP_ADD',
  'RELATIONSHIP_REMOVE',
  'GUILD_EMOJIS_UPDATE',
  'CHANNEL_CREATE',
  'CHANNEL_UPDATE',
  'CHANNEL_DELETE',
  'CHANNEL_PINS_UPDATE',
  'GUILD_MEMBER_LIST_UPDATE',
  'WEBHOOKS_UPDATE',
  'GUILD_ROLE_CREATE',
  'GUILD_ROLE_UPDATE',
  'GUILD_ROLE_DELETE',
  'USER_UPDATE',
  'USER_GUILD_SETTINGS_UPDATE',
  'VOICE_STATE_UPDATE',
] as const;
export type DispatchType = (typeof DISPATCH_TYPES)[number];

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
