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
  /** Administers the instance (stored; `instance.admins` in the config names more). Absent = false. */
  admin?: boolean;
  /** Switched off by an instance admin: no login, no token works. Absent = false. */
  disabled?: boolean;
  /** Registered under `instance.registration: approval`, not approved yet: no login. Absent = false. */
  approvalPending?: boolean;
}

/** One action of an instance administrator (the instance audit log). */
export interface InstanceAuditEntryRecord {
  /** A snowflake: its time is when the action happened; pages run newest first. */
  id: string;
  actorId: string;
  /** What was done: `user.disable`, `user.enable`, `user.delete`, `guild.delete`, `registration.approve`, ... */
  action: string;
  targetType: 'user' | 'guild' | 'registration';
  targetId: string;
  reason: string | null;
  /** Epoch ms after which the entry is gone (the retention in force when it was written). */
  expiresAt: number;
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
  /** A registration waiting for its address to be proven: the new account's id and (stamp) what makes it. */
  | 'register'
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

/**
 * What unfurling one URL found (a cache, never exported): the link embed built from its page, or null when
 * the page had nothing to show or could not be fetched (so a dead link is not fetched again for every message).
 */
export interface LinkPreviewRecord {
  url: string;
  embed: EmbedRecord | null;
  fetchedAt: number;
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
  /** Alt text (Discord's attachment `description`, up to 1,024 characters), given by webhooks and bots. */
  description?: string;
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
  /** Set on a message a webhook executed: the webhook and the name/avatar it was sent as (absent otherwise). */
  webhook?: MessageWebhookRecord;
}

/** Who a webhook's message shows as: the webhook's id and the name and avatar of that execution. */
export interface MessageWebhookRecord {
  id: string;
  name: string;
  /** An avatar URL given on execute (`avatar_url`), or the webhook's own avatar; null for none. */
  avatar: string | null;
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
  /** The files it keeps (an edit by a webhook may remove some and add others). */
  attachments?: AttachmentRef[];
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

/** One device's Web Push subscription (the Web Push API's `PushSubscription`). */
export interface PushSubscriptionRecord {
  userId: string;
  /** A hash of the endpoint: the same device subscribing again replaces its row. */
  endpointId: string;
  endpoint: string;
  /** The device's P-256 public key and auth secret, base64url as the browser gives them. */
  p256dh: string;
  auth: string;
  createdAt: number;
}

/** A secret the instance generated once and every process shares (the VAPID key pair). */
export interface InstanceSecretRecord {
  name: string;
  value: string;
  createdAt: number;
}

/** A user's own notification preferences (no row: the defaults). */
export interface NotificationPrefsRecord {
  userId: string;
  emailEnabled: boolean;
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

/**
 * A guild's custom emoji (Discord's emoji object). Names need not be unique in a guild (as on Discord); the
 * image lives in the file store under the id (`emojis/<id>.png` or `.gif`), never in this record.
 */
export interface EmojiRecord {
  guildId: string;
  id: string;
  name: string;
  /** Roles allowed to use it; empty: everyone. */
  roles: string[];
  /** Who uploaded it; null once unknown (imported without one). */
  userId: string | null;
  animated: boolean;
}

export type EmojiPatch = Partial<Pick<EmojiRecord, 'name' | 'roles'>>;

/**
 * An incoming webhook of a guild channel (Discord's webhook type 1). The token is a capability (its URL is what
 * senders hold), kept so channel managers can copy the URL again, as Discord shows it to them.
 */
export interface WebhookRecord {
  id: string;
  guildId: string;
  channelId: string;
  /** The user who created it (null once that user is gone). */
  creatorId: string | null;
  name: string;
  /** An http(s) URL or a data: image URI given at create/modify; null for the default avatar. */
  avatar: string | null;
  token: string;
}

export interface WebhookPatch {
  name?: string;
  avatar?: string | null;
  channelId?: string;
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

/**
 * One AutoMod rule of a guild (Discord's auto moderation rule). The rule's body (name, event and trigger types,
 * trigger metadata, actions, enabled, exempt roles and channels) is kept as the JSON Discord serves, so storage
 * never interprets it; the chat library validates it on the way in.
 */
export interface AutoModRuleRecord {
  guildId: string;
  id: string;
  creatorId: string;
  /** JSON object: everything of the rule but its id, guild and creator. */
  rule: string;
}

/** Discord's relationship types; Parley stores blocks (2) only. */
export type RelationshipType = 1 | 2 | 3 | 4;

/** One user's relationship with another (a block: `type` 2), as Discord's `GET /users/@me/relationships` lists. */
export interface RelationshipRecord {
  userId: string;
  targetId: string;
  type: RelationshipType;
  createdAt: number;
}

/** Who may open a DM with a user: 0 anyone, 1 only users who share a guild (the default), 2 nobody new. */
export type DmPolicy = 0 | 1 | 2;

/** A user's privacy settings (only present once changed from the defaults). */
export interface UserPrivacyRecord {
  userId: string;
  dmPolicy: DmPolicy;
  updatedAt: number;
}

/**
 * A report by a user of a message, a user or a guild, with a reason. `guildId` is the guild it concerns (the
 * message's guild, or the reported guild; null for a user or a DM message): its moderators see it, instance
 * admins see every report.
 */
export interface ReportRecord {
  /** A snowflake: its time is when the report was made; lists run newest first. */
  id: string;
  reporterId: string;
  reason: string;
  guildId: string | null;
  channelId: string | null;
  messageId: string | null;
  /** The reported user (the message's author for a message report). */
  targetUserId: string | null;
}

export interface JobRecord {
  id: string;
  name: string;
  payload: string; // JSON
  attempts: number;
  runAt: number;
  lastError: string | null;
}
