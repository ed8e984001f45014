/**
 * Storage records: what repositories read and write. Ids are snowflake strings, times are epoch
 * milliseconds, permission bit sets are decimal strings. Absent optional values are `null`, never undefined.
 */
export interface UserRecord {
  id: string;
  username: string; // stored as typed; uniqueness is case-insensitive
  email: string; // stored lower-cased
  displayName: string | null;
  avatar: string | null;
  passwordHash: string;
  createdAt: number;
  /** Set for a bot: the user who owns its application (Discord's bot applications; the app shares its id). */
  botOwnerId?: string | null;
  /** The bot application's flags (privileged intents, Discord's bits); 0 for people. */
  appFlags?: number;
  /** The email address was confirmed by a mailed link (accounts from before verification existed count as confirmed). */
  emailVerified: boolean;
  /** TOTP shared secret (base32); null = two-factor authentication is off. */
  mfaSecret: string | null;
  /** SHA-256 (hex) of each unused backup code; empty when 2FA is off or all are used. */
  mfaBackupCodes: string[];
}

/**
 * What a deleted account's row becomes (`instance.account_deletion`, docs/accounts.md): nothing personal is
 * left, the id stays so the messages kept show "Deleted User", and the username and address it held are free.
 */
export function deletedUserFields(
  id: string,
): Pick<UserRecord, 'username' | 'email' | 'displayName' | 'avatar'> {
  return {
    username: `deleted_user_${BigInt(id).toString(36)}`,
    email: `${id}@deleted.invalid`,
    displayName: 'Deleted User',
    avatar: null,
  };
}

/** Whether the row is a deleted account's (see deletedUserFields). */
export function isDeletedUser(user: Pick<UserRecord, 'id' | 'email'>): boolean {
  return user.email === `${user.id}@deleted.invalid`;
}

/** What a mailed single-use link does. */
export type AccountTokenKind =
  | 'verify_email'
  | 'reset_password'
  | 'mfa_ticket'
  /** A started OpenID Connect login: its state (the token), PKCE verifier and nonce (the stamp). */
  | 'oidc_state'
  /** An OpenID Connect identity waiting for its owner's password to be linked to their account. */
  | 'oidc_link';

/** A single-use link's token (verify an address, reset a password): transient, never exported. */
export interface AccountTokenRecord {
  tokenHash: string; // hex sha-256 of the token mailed; the token itself is never stored
  kind: AccountTokenKind;
  userId: string;
  /** The state the token was issued for (the address, a digest of the password hash): a later change voids it. */
  stamp: string;
  expiresAt: number;
}

/** An identity at an OpenID Connect provider (its `sub`) linked to an account: it logs in to that account. */
export interface UserIdentityRecord {
  /** The provider's id in `auth.oidc.providers`. */
  provider: string;
  /** The provider's `sub` claim: stable and unique at that provider. */
  subject: string;
  userId: string;
  /** The address the provider gave when the link was made. */
  email: string | null;
  createdAt: number;
}

/** An account's latest personal data export; its archive is `exports/<userId>/<id>.zip` in the file store. */
export interface DataExportRecord {
  userId: string;
  id: string;
  status: 'pending' | 'ready' | 'failed';
  /** Bytes of the archive, once ready. */
  size: number | null;
  createdAt: number;
  finishedAt: number | null;
}

export interface TokenRecord {
  tokenHash: string; // hex sha-256 of the opaque token; the token itself is never stored
  userId: string;
  createdAt: number;
  expiresAt: number | null;
}

export interface GuildRecord {
  id: string;
  name: string;
  icon: string | null;
  ownerId: string;
  createdAt: number;
  /** Level for members who chose none: 0 all messages, 1 only mentions (Discord's field). */
  defaultMessageNotifications: number;
}

export interface RoleRecord {
  id: string; // @everyone has the guild's id
  guildId: string;
  name: string;
  permissions: string;
  color: number;
  position: number;
  /** Anyone may mention it (`<@&id>`); otherwise only members with MENTION_EVERYONE. */
  mentionable: boolean;
}

export interface MemberRecord {
  guildId: string;
  userId: string;
  nick: string | null;
  roles: string[]; // without @everyone
  joinedAt: number;
  /** Timed out until this epoch ms (Discord's communication_disabled_until); absent or null: not timed out. */
  communicationDisabledUntil?: number | null;
}

export interface OverwriteRecord {
  channelId: string;
  id: string; // role or user id
  type: 0 | 1; // 0 role, 1 member
  allow: string;
  deny: string;
}

export interface ChannelRecord {
  id: string;
  type: number; // 0 text, 1 DM, 2 voice, 4 category
  guildId: string | null; // null for DMs
  name: string | null;
  topic: string | null;
  parentId: string | null;
  position: number;
  /** DM recipients (two user ids); empty for guild channels. */
  recipients: string[];
  /** Guild channels only; loaded with the channel. */
  overwrites: OverwriteRecord[];
  /** Slowmode seconds (Discord's rate_limit_per_user); absent or 0: none. */
  rateLimitPerUser?: number;
}

export interface AttachmentRef {
  id: string;
  filename: string;
  size: number;
  contentType: string;
  width: number | null;
  height: number | null;
}

/**
 * An uploaded file. Unattached (`messageId` null) until a message of the same channel by the same
 * uploader claims it; from then on it lives and dies with that message. The file itself is in the
 * media file store under a key derived from channel and id.
 */
export interface AttachmentRecord {
  id: string;
  channelId: string;
  uploaderId: string;
  messageId: string | null;
  filename: string;
  size: number;
  contentType: string; // sniffed from the bytes, never the client's word
  width: number | null;
  height: number | null;
  createdAt: number;
}

export interface MessageRecord {
  id: string;
  channelId: string;
  guildId: string | null;
  authorId: string;
  content: string;
  editedAt: number | null;
  attachments: AttachmentRef[];
  mentions: string[]; // user ids
  /** Role ids mentioned (`<@&id>`) and allowed to be: Discord's mention_roles. */
  mentionRoles: string[];
  mentionEveryone: boolean;
  pinned: boolean;
  type: number;
  nonce: string | null;
  /** The replied-to message of a reply (type 19), in the same channel. */
  referenceId: string | null;
  /** Discord's embed objects, validated before they are stored (a bot's, or a link's unfurl). */
  embeds: EmbedRecord[];
  /** Discord's message flags (SUPPRESS_EMBEDS = 1 << 2). */
  flags: number;
}

/** Discord's embed object as stored: only the fields Discord accepts, checked against its limits on input. */
export interface EmbedRecord {
  title?: string;
  type?: string;
  description?: string;
  url?: string;
  timestamp?: string;
  color?: number;
  footer?: { text: string; icon_url?: string };
  image?: EmbedMedia;
  thumbnail?: EmbedMedia;
  video?: EmbedMedia;
  provider?: { name?: string; url?: string };
  author?: { name: string; url?: string; icon_url?: string };
  fields?: { name: string; value: string; inline?: boolean }[];
}

export interface EmbedMedia {
  url: string;
  /** The media proxy's URL for it (images of unfurled links). */
  proxy_url?: string;
  width?: number;
  height?: number;
}

export interface MessagePatch {
  content?: string;
  editedAt?: number;
  mentions?: string[];
  mentionRoles?: string[];
  mentionEveryone?: boolean;
  pinned?: boolean;
  embeds?: EmbedRecord[];
  flags?: number;
}

/** A pinned message of a channel (Discord keeps at most 50 per channel). */
export interface PinRecord {
  channelId: string;
  messageId: string;
  pinnedAt: number;
}

export interface ReactionCount {
  messageId: string;
  emoji: string;
  count: number;
  me: boolean;
}

export interface ReadStateRecord {
  userId: string;
  channelId: string;
  lastMessageId: string | null;
  mentionCount: number;
}

/** A user's level in a guild or channel: Discord's 0 all, 1 only mentions, 2 nothing, 3 inherit. */
export type NotificationLevel = 0 | 1 | 2 | 3;

/** One channel's override inside a user's guild settings. */
export interface ChannelNotificationOverride {
  channelId: string;
  messageNotifications: NotificationLevel;
  muted: boolean;
  /** Muted until this time (ms); null: until unmuted. */
  muteEndTime: number | null;
}

/** A user's notification settings in one guild (Discord's user guild settings). */
export interface GuildSettingsRecord {
  userId: string;
  guildId: string;
  messageNotifications: NotificationLevel;
  muted: boolean;
  muteEndTime: number | null;
  suppressEveryone: boolean;
  suppressRoles: boolean;
  channelOverrides: ChannelNotificationOverride[];
  updatedAt: number;
}

export interface InviteRecord {
  code: string;
  guildId: string;
  channelId: string;
  inviterId: string;
  maxAge: number; // seconds, 0 = never expires
  maxUses: number; // 0 = unlimited
  uses: number;
  createdAt: number;
  expiresAt: number | null;
}

export interface BanRecord {
  guildId: string;
  userId: string;
  reason: string | null;
  createdAt: number;
}

/**
 * One guild audit log entry (Discord's audit log entry). `changes` and `options` are kept as the JSON Discord
 * serves (`[{key, old_value, new_value}]`, and the action's options object), so storage never interprets them.
 */
export interface AuditLogEntryRecord {
  guildId: string;
  /** A snowflake: its time is when the action happened; pages run newest first. */
  id: string;
  /** Who acted (null: the system, e.g. AutoMod). */
  userId: string | null;
  targetId: string | null;
  actionType: number;
  /** JSON array. */
  changes: string;
  reason: string | null;
  /** JSON object, or null. */
  options: string | null;
  /** Epoch ms after which the entry is gone (the retention in force when it was written). */
  expiresAt: number;
}

export interface JobRecord {
  id: string;
  name: string;
  payload: string; // JSON
  attempts: number;
  runAt: number;
  lastError: string | null;
}
