import type {
  AccountTokenKind,
  AccountTokenRecord,
  AttachmentRecord,
  AuditLogEntryRecord,
  AutoModRuleRecord,
  AttachmentRef,
  BanRecord,
  BulkJob,
  ChannelLastMessageRecord,
  ChannelRecord,
  EmbedRecord,
  GuildRecord,
  GuildSettingsRecord,
  InstanceSecretRecord,
  NotificationPrefsRecord,
  InstanceAuditEntryRecord,
  InviteRecord,
  JobRecord,
  LinkPreviewRecord,
  MemberRecord,
  MessageRecord,
  NotificationLevel,
  OverwriteRecord,
  PinRecord,
  PushSubscriptionRecord,
  EmojiRecord,
  ReadStateRecord,
  RelationshipRecord,
  RelationshipType,
  ReportRecord,
  DmPolicy,
  RoleRecord,
  TokenRecord,
  UserPrivacyRecord,
  UserRecord,
  MessageWebhookRecord,
  WebhookRecord,
  UserIdentityRecord,
  DataExportRecord,
} from '../contract';
import {
  fromId,
  fromIdOrNull,
  parseIds,
  toFlag,
  toId,
  toIdOrNull,
  toNumber,
  toNumberOrNull,
  type Param,
} from './codec';
import type { SqliteDb } from './connection';
import { decodeOverrides, encodeOverrides } from '../contract/notification-overrides';

/**
 * Every SQLite table's columns, key, write statements and row <-> record mapping, declared once. The
 * repositories (request paths) and the bulk writer (migrate, import) both write through these, so a
 * new column is added here and in a migration, nowhere else. Statements are plain text: the
 * connection prepares each text once and caches it.
 */

interface Shape {
  name: string;
  /** Every column an insert writes (comma separated), in the order `params` binds them. */
  columns: string;
  /** The primary key (what ON CONFLICT names and a delete matches). */
  key: readonly string[];
  /** Columns an upsert never rewrites (besides the key): they belong to the row's identity. */
  keep?: readonly string[];
  /** What a delete matches, when more than the key (a message id with its channel). */
  match?: readonly string[];
}

export interface TableStatements {
  readonly name: string;
  /** The written columns, comma separated. */
  readonly columns: string;
  /** A duplicate key is an error (a uniqueness claim, a create that must not repeat). */
  readonly insert: string;
  /** Idempotent create: the first write stays. */
  readonly insertIfAbsent: string;
  /** Idempotent write: the last write wins (retries, re-imports). */
  readonly upsert: string;
  readonly delete: string;
}

function statements(shape: Shape): TableStatements {
  const columns = shape.columns;
  const names = columns.split(', ');
  const insert = `INSERT INTO ${shape.name} (${columns}) VALUES (${names.map(() => '?').join(', ')})`;
  const fixed = new Set([...shape.key, ...(shape.keep ?? [])]);
  const set = names
    .filter((c) => !fixed.has(c))
    .map((c) => `${c} = excluded.${c}`)
    .join(', ');
  return {
    name: shape.name,
    columns,
    insert,
    insertIfAbsent: `${insert} ON CONFLICT DO NOTHING`,
    upsert: `${insert} ON CONFLICT (${shape.key.join(', ')}) DO UPDATE SET ${set}`,
    delete: `DELETE FROM ${shape.name} WHERE ${(shape.match ?? shape.key).map((c) => `${c} = ?`).join(' AND ')}`,
  };
}

// --- users ---------------------------------------------------------------------------------------

export interface UserRow {
  id: bigint;
  username: string;
  email: string;
  display_name: string | null;
  avatar: string | null;
  password_hash: string;
  created_at: bigint;
  bot_owner_id: bigint | null;
  app_flags: bigint | number | null;
  email_verified: bigint;
  mfa_secret: string | null;
  mfa_backup_codes: string | null;
  admin: bigint;
  disabled: bigint;
  approval_pending: bigint;
}

export const USERS = {
  ...statements({
    name: 'users',
    // username_lower is the case-insensitive uniqueness claim; email is stored lower-cased.
    columns:
      'id, username, username_lower, email, display_name, avatar, password_hash, created_at, bot_owner_id, app_flags, email_verified, mfa_secret, mfa_backup_codes, admin, disabled, approval_pending',
    key: ['id'],
  }),
  read: 'id, username, email, display_name, avatar, password_hash, created_at, bot_owner_id, app_flags, email_verified, mfa_secret, mfa_backup_codes, admin, disabled, approval_pending',
  params: (u: UserRecord): Param[] => [
    toId(u.id),
    u.username,
    u.username.toLowerCase(),
    u.email.toLowerCase(),
    u.displayName,
    u.avatar,
    u.passwordHash,
    u.createdAt,
    u.botOwnerId ? toId(u.botOwnerId) : null,
    u.appFlags ?? 0,
    toFlag(u.emailVerified),
    u.mfaSecret,
    backupCodesText(u.mfaBackupCodes),
    toFlag(u.admin === true),
    toFlag(u.disabled === true),
    toFlag(u.approvalPending === true),
  ],
  toRecord: (row: UserRow): UserRecord => ({
    id: fromId(row.id),
    username: row.username,
    email: row.email,
    displayName: row.display_name,
    avatar: row.avatar,
    passwordHash: row.password_hash,
    createdAt: toNumber(row.created_at),
    botOwnerId: row.bot_owner_id === null ? null : fromId(row.bot_owner_id),
    appFlags: row.app_flags === null ? 0 : Number(row.app_flags),
    emailVerified: toNumber(row.email_verified) !== 0,
    mfaSecret: row.mfa_secret,
    mfaBackupCodes: row.mfa_backup_codes ? (JSON.parse(row.mfa_backup_codes) as string[]) : [],
    admin: toNumber(row.admin) !== 0,
    disabled: toNumber(row.disabled) !== 0,
    approvalPending: toNumber(row.approval_pending) !== 0,
  }),
};

/** Backup code hashes as stored: a JSON array, null for none (what conditional updates compare). */
export const backupCodesText = (codes: readonly string[]): string | null =>
  codes.length > 0 ? JSON.stringify(codes) : null;

// --- tokens --------------------------------------------------------------------------------------

export interface TokenRow {
  token_hash: string;
  user_id: bigint;
  created_at: bigint;
  expires_at: bigint | null;
}

export const TOKENS = {
  ...statements({
    name: 'tokens',
    columns: 'token_hash, user_id, created_at, expires_at',
    key: ['token_hash'],
  }),
  params: (t: TokenRecord): Param[] => [t.tokenHash, toId(t.userId), t.createdAt, t.expiresAt],
  toRecord: (row: TokenRow): TokenRecord => ({
    tokenHash: row.token_hash,
    userId: fromId(row.user_id),
    createdAt: toNumber(row.created_at),
    expiresAt: toNumberOrNull(row.expires_at),
  }),
};

// --- single-use mailed tokens (transient: no bulk copy) --------------------------------------------

export interface AccountTokenRow {
  token_hash: string;
  kind: string;
  user_id: bigint;
  stamp: string;
  expires_at: bigint;
}

export const ACCOUNT_TOKENS = {
  ...statements({
    name: 'account_tokens',
    columns: 'token_hash, kind, user_id, stamp, expires_at',
    key: ['token_hash'],
  }),
  params: (t: AccountTokenRecord): Param[] => [t.tokenHash, t.kind, toId(t.userId), t.stamp, t.expiresAt],
  toRecord: (row: AccountTokenRow): AccountTokenRecord => ({
    tokenHash: row.token_hash,
    kind: row.kind as AccountTokenKind,
    userId: fromId(row.user_id),
    stamp: row.stamp,
    expiresAt: toNumber(row.expires_at),
  }),
};

// --- link previews (a cache of unfurled URLs, transient: no bulk copy, migration 0028) --------------

export interface LinkPreviewRow {
  url: string;
  embed: string | null;
  fetched_at: bigint;
  expires_at: bigint;
}

export const LINK_PREVIEWS = {
  ...statements({ name: 'link_previews', columns: 'url, embed, fetched_at, expires_at', key: ['url'] }),
  params: (p: LinkPreviewRecord): Param[] => [
    p.url,
    p.embed === null ? null : JSON.stringify(p.embed),
    p.fetchedAt,
    p.expiresAt,
  ],
  toRecord: (row: LinkPreviewRow): LinkPreviewRecord => ({
    url: row.url,
    embed: row.embed === null ? null : (JSON.parse(row.embed) as EmbedRecord),
    fetchedAt: toNumber(row.fetched_at),
    expiresAt: toNumber(row.expires_at),
  }),
};
// --- single sign-on identities ---------------------------------------------------------------------

export interface UserIdentityRow {
  provider: string;
  subject: string;
  user_id: bigint;
  email: string | null;
  created_at: bigint;
}

export const USER_IDENTITIES = {
  ...statements({
    name: 'user_identities',
    columns: 'provider, subject, user_id, email, created_at',
    key: ['provider', 'subject'],
  }),
  params: (i: UserIdentityRecord): Param[] => [i.provider, i.subject, toId(i.userId), i.email, i.createdAt],
  toRecord: (row: UserIdentityRow): UserIdentityRecord => ({
    provider: row.provider,
    subject: row.subject,
    userId: fromId(row.user_id),
    email: row.email,
    createdAt: toNumber(row.created_at),
  }),
};

// --- personal data exports (transient: no bulk copy) ---------------------------------------------------

export interface DataExportRow {
  user_id: bigint;
  id: bigint;
  status: string;
  size: bigint | null;
  created_at: bigint;
  finished_at: bigint | null;
}

export const DATA_EXPORTS = {
  ...statements({
    name: 'data_exports',
    columns: 'user_id, id, status, size, created_at, finished_at',
    key: ['user_id'],
  }),
  params: (e: DataExportRecord): Param[] => [
    toId(e.userId),
    toId(e.id),
    e.status,
    e.size,
    e.createdAt,
    e.finishedAt,
  ],
  toRecord: (row: DataExportRow): DataExportRecord => ({
    userId: fromId(row.user_id),
    id: fromId(row.id),
    status: row.status as DataExportRecord['status'],
    size: row.size === null ? null : toNumber(row.size),
    createdAt: toNumber(row.created_at),
    finishedAt: row.finished_at === null ? null : toNumber(row.finished_at),
  }),
};

// --- guilds --------------------------------------------------------------------------------------

export interface GuildRow {
  id: bigint;
  name: string;
  icon: string | null;
  owner_id: bigint;
  created_at: bigint;
  default_message_notifications: bigint;
}

export const GUILDS = {
  ...statements({
    name: 'guilds',
    columns: 'id, name, icon, owner_id, created_at, default_message_notifications',
    key: ['id'],
  }),
  params: (g: GuildRecord): Param[] => [
    toId(g.id),
    g.name,
    g.icon,
    toId(g.ownerId),
    g.createdAt,
    g.defaultMessageNotifications,
  ],
  toRecord: (row: GuildRow): GuildRecord => ({
    id: fromId(row.id),
    name: row.name,
    icon: row.icon,
    ownerId: fromId(row.owner_id),
    createdAt: toNumber(row.created_at),
    defaultMessageNotifications: toNumber(row.default_message_notifications),
  }),
};

// --- roles ---------------------------------------------------------------------------------------

export interface RoleRow {
  guild_id: bigint;
  id: bigint;
  name: string;
  permissions: string;
  color: bigint;
  position: bigint;
  mentionable: bigint;
}

export const ROLES = {
  ...statements({
    name: 'roles',
    columns: 'guild_id, id, name, permissions, color, position, mentionable',
    key: ['guild_id', 'id'],
  }),
  params: (r: RoleRecord): Param[] => [
    toId(r.guildId),
    toId(r.id),
    r.name,
    r.permissions,
    r.color,
    r.position,
    toFlag(r.mentionable),
  ],
  toRecord: (row: RoleRow): RoleRecord => ({
    id: fromId(row.id),
    guildId: fromId(row.guild_id),
    name: row.name,
    permissions: row.permissions,
    color: toNumber(row.color),
    position: toNumber(row.position),
    mentionable: row.mentionable === 1n,
  }),
};

// --- members -------------------------------------------------------------------------------------

export interface MemberRow {
  guild_id: bigint;
  user_id: bigint;
  nick: string | null;
  /** JSON array of id strings. */
  roles: string;
  joined_at: bigint;
  communication_disabled_until: bigint | null;
}

export const MEMBERS = {
  ...statements({
    name: 'members',
    columns: 'guild_id, user_id, nick, roles, joined_at, communication_disabled_until',
    key: ['guild_id', 'user_id'],
  }),
  params: (m: MemberRecord): Param[] => [
    toId(m.guildId),
    toId(m.userId),
    m.nick,
    JSON.stringify(m.roles),
    m.joinedAt,
    m.communicationDisabledUntil ?? null,
  ],
  toRecord: (row: MemberRow): MemberRecord => ({
    guildId: fromId(row.guild_id),
    userId: fromId(row.user_id),
    nick: row.nick,
    roles: parseIds(row.roles),
    joinedAt: toNumber(row.joined_at),
    // Only a timed-out member carries the field: records written without it read back equal.
    ...(row.communication_disabled_until === null
      ? {}
      : { communicationDisabledUntil: toNumber(row.communication_disabled_until) }),
  }),
};

// --- channels, their overwrites and DM recipients --------------------------------------------------

export interface ChannelRow {
  id: bigint;
  type: bigint;
  guild_id: bigint | null;
  name: string | null;
  topic: string | null;
  parent_id: bigint | null;
  position: bigint;
  rate_limit_per_user: bigint;
}

export const CHANNELS = {
  ...statements({
    name: 'channels',
    columns: 'id, type, guild_id, name, topic, parent_id, position, rate_limit_per_user',
    key: ['id'],
  }),
  params: (c: ChannelRecord): Param[] => [
    toId(c.id),
    c.type,
    toIdOrNull(c.guildId),
    c.name,
    c.topic,
    toIdOrNull(c.parentId),
    c.position,
    c.rateLimitPerUser ?? 0,
  ],
  /** Recipients (DMs) and overwrites (guild channels) live in their own tables. */
  toRecord: (row: ChannelRow, recipients: string[], overwrites: OverwriteRecord[]): ChannelRecord => ({
    id: fromId(row.id),
    type: toNumber(row.type),
    guildId: fromIdOrNull(row.guild_id),
    name: row.name,
    topic: row.topic,
    parentId: fromIdOrNull(row.parent_id),
    position: toNumber(row.position),
    recipients,
    overwrites,
    // Only a channel in slowmode carries the field: records written without it read back equal.
    ...(row.rate_limit_per_user > 0n ? { rateLimitPerUser: toNumber(row.rate_limit_per_user) } : {}),
  }),
};

export interface OverwriteRow {
  channel_id: bigint;
  id: bigint;
  type: bigint;
  allow: string;
  deny: string;
}

export const OVERWRITES = {
  ...statements({
    name: 'channel_overwrites',
    columns: 'channel_id, id, type, allow, deny',
    key: ['channel_id', 'id'],
  }),
  deleteOfChannel: 'DELETE FROM channel_overwrites WHERE channel_id = ?',
  params: (o: OverwriteRecord): Param[] => [toId(o.channelId), toId(o.id), o.type, o.allow, o.deny],
  toRecord: (row: OverwriteRow): OverwriteRecord => ({
    channelId: fromId(row.channel_id),
    id: fromId(row.id),
    type: row.type === 0n ? 0 : 1,
    allow: row.allow,
    deny: row.deny,
  }),
};

export const DM_RECIPIENTS = {
  ...statements({
    name: 'dm_recipients',
    columns: 'user_id, channel_id',
    key: ['user_id', 'channel_id'],
  }),
  deleteOfChannel: 'DELETE FROM dm_recipients WHERE channel_id = ?',
  // Text ids in the JSON so the array parses without rounding.
  ofChannel: 'SELECT json_group_array(CAST(user_id AS TEXT)) AS ids FROM dm_recipients WHERE channel_id = ?',
};

/** A channel row with its overwrites and recipients (guild creation, DM claims, bulk writes). */
export function insertChannel(db: SqliteDb, c: ChannelRecord, sql: string = CHANNELS.insert): void {
  db.run(sql, ...CHANNELS.params(c));
  for (const overwrite of c.overwrites)
    db.run(OVERWRITES.upsert, ...OVERWRITES.params({ ...overwrite, channelId: c.id }));
  const channelId = toId(c.id);
  for (const userId of c.recipients) db.run(DM_RECIPIENTS.insertIfAbsent, toId(userId), channelId);
}

// --- DM pairs ------------------------------------------------------------------------------------

export const DM_PAIRS = {
  // The pair's primary key is the claim: the first insert wins, later ones change nothing.
  ...statements({
    name: 'dm_pairs',
    columns: 'user_low, user_high, channel_id',
    key: ['user_low', 'user_high'],
  }),
  holder: 'SELECT channel_id FROM dm_pairs WHERE user_low = ? AND user_high = ?',
  deleteOfChannel: 'DELETE FROM dm_pairs WHERE channel_id = ?',
};

// --- messages ------------------------------------------------------------------------------------

export interface MessageRow {
  id: bigint;
  channel_id: bigint;
  guild_id: bigint | null;
  author_id: bigint;
  content: string;
  edited_at: bigint | null;
  attachments: string;
  mentions: string;
  mention_roles: string;
  embeds: string;
  flags: bigint;
  webhook: string | null;
  mention_everyone: bigint;
  pinned: bigint;
  type: bigint;
  nonce: string | null;
  reference_id: bigint | null;
}

export const MESSAGES = {
  // Idempotent upsert: a retried or re-imported message overwrites itself (last write wins, as on
  // Cassandra); where it is and who wrote it are never rewritten.
  ...statements({
    name: 'messages',
    columns:
      'id, channel_id, guild_id, author_id, content, edited_at, attachments, mentions, mention_everyone, pinned, type, nonce, reference_id, mention_roles, embeds, flags, webhook',
    key: ['id'],
    keep: ['channel_id', 'guild_id', 'author_id'],
    match: ['id', 'channel_id'],
  }),
  /** One array per message, handed to the group-committed writer as is. */
  params: (m: MessageRecord): Param[] => [
    toId(m.id),
    toId(m.channelId),
    toIdOrNull(m.guildId),
    toId(m.authorId),
    m.content,
    m.editedAt,
    JSON.stringify(m.attachments),
    JSON.stringify(m.mentions),
    toFlag(m.mentionEveryone),
    toFlag(m.pinned),
    m.type,
    m.nonce,
    toIdOrNull(m.referenceId),
    JSON.stringify(m.mentionRoles),
    JSON.stringify(m.embeds),
    m.flags,
    m.webhook ? JSON.stringify(m.webhook) : null,
  ],
  toRecord: (row: MessageRow): MessageRecord => ({
    id: fromId(row.id),
    channelId: fromId(row.channel_id),
    guildId: fromIdOrNull(row.guild_id),
    authorId: fromId(row.author_id),
    content: row.content,
    editedAt: toNumberOrNull(row.edited_at),
    attachments: JSON.parse(row.attachments) as AttachmentRef[],
    mentions: parseIds(row.mentions),
    mentionRoles: parseIds(row.mention_roles),
    mentionEveryone: row.mention_everyone === 1n,
    pinned: row.pinned === 1n,
    type: toNumber(row.type),
    nonce: row.nonce,
    referenceId: fromIdOrNull(row.reference_id),
    embeds: JSON.parse(row.embeds) as EmbedRecord[],
    flags: toNumber(row.flags),
    ...(row.webhook ? { webhook: JSON.parse(row.webhook) as MessageWebhookRecord } : {}),
  }),
};

// --- reactions and their per-emoji counters ---------------------------------------------------------

// Message ids are unique across channels, so rows are keyed by message alone; channelId is not stored.
export const REACTIONS = {
  ...statements({
    name: 'reactions',
    columns: 'message_id, emoji, user_id',
    key: ['message_id', 'emoji', 'user_id'],
  }),
  deleteOfMessage: 'DELETE FROM reactions WHERE message_id = ?',
  countUp: `INSERT INTO reaction_counts (message_id, emoji, count) VALUES (?, ?, 1)
    ON CONFLICT (message_id, emoji) DO UPDATE SET count = count + 1`,
  countDown: 'UPDATE reaction_counts SET count = count - 1 WHERE message_id = ? AND emoji = ?',
  dropEmpty: 'DELETE FROM reaction_counts WHERE message_id = ? AND emoji = ? AND count <= 0',
  deleteCountsOfMessage: 'DELETE FROM reaction_counts WHERE message_id = ?',
};

/** Adds a reaction and counts it, if it is new (call inside a transaction). */
export function addReaction(db: SqliteDb, message: bigint, emoji: string, user: bigint): boolean {
  if (db.run(REACTIONS.insertIfAbsent, message, emoji, user) === 0) return false;
  db.run(REACTIONS.countUp, message, emoji);
  return true;
}

/** Removes a reaction and its count, if it was there (call inside a transaction). */
export function removeReaction(db: SqliteDb, message: bigint, emoji: string, user: bigint): boolean {
  if (db.run(REACTIONS.delete, message, emoji, user) === 0) return false;
  db.run(REACTIONS.countDown, message, emoji);
  db.run(REACTIONS.dropEmpty, message, emoji);
  return true;
}

// --- read states ---------------------------------------------------------------------------------

export interface ReadStateRow {
  user_id: bigint;
  channel_id: bigint;
  last_message_id: bigint | null;
  mention_count: bigint;
}

// --- pins ------------------------------------------------------------------------------------------

export interface PinRow {
  channel_id: bigint;
  message_id: bigint;
  pinned_at: bigint;
}

export const PINS = {
  ...statements({
    name: 'channel_pins',
    columns: 'channel_id, message_id, pinned_at',
    key: ['channel_id', 'message_id'],
  }),
  params: (p: PinRecord): Param[] => [toId(p.channelId), toId(p.messageId), p.pinnedAt],
  toRecord: (row: PinRow): PinRecord => ({
    channelId: fromId(row.channel_id),
    messageId: fromId(row.message_id),
    pinnedAt: toNumber(row.pinned_at),
  }),
};

export const READ_STATES = {
  ...statements({
    name: 'read_states',
    columns: 'user_id, channel_id, last_message_id, mention_count',
    key: ['user_id', 'channel_id'],
  }),
  params: (s: ReadStateRecord): Param[] => [
    toId(s.userId),
    toId(s.channelId),
    toIdOrNull(s.lastMessageId),
    s.mentionCount,
  ],
  toRecord: (row: ReadStateRow): ReadStateRecord => ({
    userId: fromId(row.user_id),
    channelId: fromId(row.channel_id),
    lastMessageId: fromIdOrNull(row.last_message_id),
    mentionCount: toNumber(row.mention_count),
  }),
};

// --- notification settings (user guild settings) ---------------------------------------------

export interface GuildSettingsRow {
  user_id: bigint;
  guild_id: bigint;
  message_notifications: bigint;
  muted: bigint;
  mute_end_time: bigint;
  suppress_everyone: bigint;
  suppress_roles: bigint;
  channel_overrides: string;
  updated_at: bigint;
}

export const GUILD_SETTINGS = {
  ...statements({
    name: 'user_guild_settings',
    columns:
      'user_id, guild_id, message_notifications, muted, mute_end_time, suppress_everyone, suppress_roles, channel_overrides, updated_at',
    key: ['user_id', 'guild_id'],
  }),
  params: (s: GuildSettingsRecord): Param[] => [
    toId(s.userId),
    toId(s.guildId),
    s.messageNotifications,
    toFlag(s.muted),
    s.muteEndTime ?? 0,
    toFlag(s.suppressEveryone),
    toFlag(s.suppressRoles),
    encodeOverrides(s.channelOverrides),
    s.updatedAt,
  ],
  toRecord: (row: GuildSettingsRow): GuildSettingsRecord => ({
    userId: fromId(row.user_id),
    guildId: fromId(row.guild_id),
    messageNotifications: toNumber(row.message_notifications) as NotificationLevel,
    muted: row.muted !== 0n,
    muteEndTime: toNumber(row.mute_end_time) || null,
    suppressEveryone: row.suppress_everyone !== 0n,
    suppressRoles: row.suppress_roles !== 0n,
    channelOverrides: decodeOverrides(row.channel_overrides),
    updatedAt: toNumber(row.updated_at),
  }),
};

// --- web push subscriptions and instance secrets (migration 0030) ------------------------------

export interface PushSubscriptionRow {
  user_id: bigint;
  endpoint_id: string;
  endpoint: string;
  p256dh: string;
  auth: string;
  created_at: bigint;
}

export const PUSH_SUBSCRIPTIONS = {
  ...statements({
    name: 'push_subscriptions',
    columns: 'user_id, endpoint_id, endpoint, p256dh, auth, created_at',
    key: ['user_id', 'endpoint_id'],
  }),
  params: (p: PushSubscriptionRecord): Param[] => [
    toId(p.userId),
    p.endpointId,
    p.endpoint,
    p.p256dh,
    p.auth,
    p.createdAt,
  ],
  toRecord: (row: PushSubscriptionRow): PushSubscriptionRecord => ({
    userId: fromId(row.user_id),
    endpointId: row.endpoint_id,
    endpoint: row.endpoint,
    p256dh: row.p256dh,
    auth: row.auth,
    createdAt: toNumber(row.created_at),
  }),
};

export interface InstanceSecretRow {
  name: string;
  value: string;
  created_at: bigint;
}

export const INSTANCE_SECRETS = {
  ...statements({ name: 'instance_secrets', columns: 'name, value, created_at', key: ['name'] }),
  params: (i: InstanceSecretRecord): Param[] => [i.name, i.value, i.createdAt],
  toRecord: (row: InstanceSecretRow): InstanceSecretRecord => ({
    name: row.name,
    value: row.value,
    createdAt: toNumber(row.created_at),
  }),
};

export interface NotificationPrefsRow {
  user_id: bigint;
  email_enabled: bigint;
  updated_at: bigint;
}

export const NOTIFICATION_PREFS = {
  ...statements({
    name: 'notification_preferences',
    columns: 'user_id, email_enabled, updated_at',
    key: ['user_id'],
  }),
  params: (p: NotificationPrefsRecord): Param[] => [toId(p.userId), toFlag(p.emailEnabled), p.updatedAt],
  toRecord: (row: NotificationPrefsRow): NotificationPrefsRecord => ({
    userId: fromId(row.user_id),
    emailEnabled: row.email_enabled !== 0n,
    updatedAt: toNumber(row.updated_at),
  }),
};

// --- invites -------------------------------------------------------------------------------------

export interface InviteRow {
  code: string;
  guild_id: bigint;
  channel_id: bigint;
  inviter_id: bigint;
  max_age: bigint;
  max_uses: bigint;
  uses: bigint;
  created_at: bigint;
  expires_at: bigint | null;
}

export const INVITES = {
  ...statements({
    name: 'invites',
    columns: 'code, guild_id, channel_id, inviter_id, max_age, max_uses, uses, created_at, expires_at',
    key: ['code'],
    // The code is the claim of one invite of one guild, made at one time.
    keep: ['guild_id', 'created_at'],
  }),
  params: (i: InviteRecord): Param[] => [
    i.code,
    toId(i.guildId),
    toId(i.channelId),
    toId(i.inviterId),
    i.maxAge,
    i.maxUses,
    i.uses,
    i.createdAt,
    i.expiresAt,
  ],
  toRecord: (row: InviteRow): InviteRecord => ({
    code: row.code,
    guildId: fromId(row.guild_id),
    channelId: fromId(row.channel_id),
    inviterId: fromId(row.inviter_id),
    maxAge: toNumber(row.max_age),
    maxUses: toNumber(row.max_uses),
    uses: toNumber(row.uses),
    createdAt: toNumber(row.created_at),
    expiresAt: toNumberOrNull(row.expires_at),
  }),
};

// --- each channel's last message id (kept by a trigger on messages; written here by the bulk tools) ---------

export interface ChannelLastMessageRow {
  channel_id: bigint;
  last_message_id: bigint;
}

export const CHANNEL_LAST_MESSAGES = {
  name: 'channel_last_messages',
  columns: 'channel_id, last_message_id',
  /** Never lowers the stored id: the messages' trigger may already have written a higher one. */
  upsert: `INSERT INTO channel_last_messages (channel_id, last_message_id) VALUES (?, ?)
    ON CONFLICT (channel_id) DO UPDATE SET last_message_id = excluded.last_message_id
    WHERE excluded.last_message_id > channel_last_messages.last_message_id`,
  delete: 'DELETE FROM channel_last_messages WHERE channel_id = ?',
  params: (r: ChannelLastMessageRecord): Param[] => [toId(r.channelId), toId(r.lastMessageId)],
  toRecord: (row: ChannelLastMessageRow): ChannelLastMessageRecord => ({
    channelId: fromId(row.channel_id),
    lastMessageId: fromId(row.last_message_id),
  }),
};

// --- bans ----------------------------------------------------------------------------------------

export interface BanRow {
  guild_id: bigint;
  user_id: bigint;
  reason: string | null;
  created_at: bigint;
}

export const BANS = {
  ...statements({
    name: 'bans',
    columns: 'guild_id, user_id, reason, created_at',
    key: ['guild_id', 'user_id'],
  }),
  params: (b: BanRecord): Param[] => [toId(b.guildId), toId(b.userId), b.reason, b.createdAt],
  toRecord: (row: BanRow): BanRecord => ({
    guildId: fromId(row.guild_id),
    userId: fromId(row.user_id),
    reason: row.reason,
    createdAt: toNumber(row.created_at),
  }),
};

// --- custom emoji ----------------------------------------------------------------------------------

export interface EmojiRow {
  guild_id: bigint;
  id: bigint;
  name: string;
  roles: string;
  user_id: bigint | null;
  animated: bigint;
}

export const EMOJIS = {
  ...statements({
    name: 'guild_emojis',
    columns: 'guild_id, id, name, roles, user_id, animated',
    key: ['guild_id', 'id'],
  }),
  params: (e: EmojiRecord): Param[] => [
    toId(e.guildId),
    toId(e.id),
    e.name,
    JSON.stringify(e.roles),
    toIdOrNull(e.userId),
    toFlag(e.animated),
  ],
  toRecord: (row: EmojiRow): EmojiRecord => ({
    guildId: fromId(row.guild_id),
    id: fromId(row.id),
    name: row.name,
    roles: parseIds(row.roles),
    userId: fromIdOrNull(row.user_id),
    animated: row.animated === 1n,
  }),
};
// --- webhooks ------------------------------------------------------------------------------------

export interface WebhookRow {
  id: bigint;
  guild_id: bigint;
  channel_id: bigint;
  creator_id: bigint | null;
  name: string;
  avatar: string | null;
  secret: string;
}

export const WEBHOOKS = {
  ...statements({
    name: 'webhooks',
    columns: 'id, guild_id, channel_id, creator_id, name, avatar, secret',
    key: ['id'],
    keep: ['guild_id'],
  }),
  params: (w: WebhookRecord): Param[] => [
    toId(w.id),
    toId(w.guildId),
    toId(w.channelId),
    toIdOrNull(w.creatorId),
    w.name,
    w.avatar,
    w.token,
  ],
  toRecord: (row: WebhookRow): WebhookRecord => ({
    id: fromId(row.id),
    guildId: fromId(row.guild_id),
    channelId: fromId(row.channel_id),
    creatorId: fromIdOrNull(row.creator_id),
    name: row.name,
    avatar: row.avatar,
    token: row.secret,
  }),
};

// --- audit log entries ---------------------------------------------------------------------------

export interface AuditLogEntryRow {
  guild_id: bigint;
  id: bigint;
  user_id: bigint | null;
  target_id: bigint | null;
  action_type: bigint;
  changes: string;
  reason: string | null;
  options: string | null;
  expires_at: bigint;
}

export const AUDIT_LOG = {
  ...statements({
    name: 'audit_log_entries',
    columns: 'guild_id, id, user_id, target_id, action_type, changes, reason, options, expires_at',
    key: ['guild_id', 'id'],
  }),
  /** Through the expiry index: only rows already expired are touched. */
  prune: 'DELETE FROM audit_log_entries WHERE expires_at <= ?',
  params: (e: AuditLogEntryRecord): Param[] => [
    toId(e.guildId),
    toId(e.id),
    toIdOrNull(e.userId),
    toIdOrNull(e.targetId),
    e.actionType,
    e.changes,
    e.reason,
    e.options,
    e.expiresAt,
  ],
  toRecord: (row: AuditLogEntryRow): AuditLogEntryRecord => ({
    guildId: fromId(row.guild_id),
    id: fromId(row.id),
    userId: fromIdOrNull(row.user_id),
    targetId: fromIdOrNull(row.target_id),
    actionType: toNumber(row.action_type),
    changes: row.changes,
    reason: row.reason,
    options: row.options,
    expiresAt: toNumber(row.expires_at),
  }),
};

// --- AutoMod rules, relationships, privacy, reports (issue 20) -----------------------------------

export interface AutoModRuleRow {
  guild_id: bigint;
  id: bigint;
  creator_id: bigint;
  rule: string;
}

export const AUTOMOD_RULES = {
  ...statements({
    name: 'automod_rules',
    columns: 'guild_id, id, creator_id, rule',
    key: ['guild_id', 'id'],
  }),
  params: (r: AutoModRuleRecord): Param[] => [toId(r.guildId), toId(r.id), toId(r.creatorId), r.rule],
  toRecord: (row: AutoModRuleRow): AutoModRuleRecord => ({
    guildId: fromId(row.guild_id),
    id: fromId(row.id),
    creatorId: fromId(row.creator_id),
    rule: row.rule,
  }),
};

export interface RelationshipRow {
  user_id: bigint;
  target_id: bigint;
  type: bigint;
  created_at: bigint;
}

export const RELATIONSHIPS = {
  ...statements({
    name: 'relationships',
    columns: 'user_id, target_id, type, created_at',
    key: ['user_id', 'target_id'],
  }),
  params: (r: RelationshipRecord): Param[] => [toId(r.userId), toId(r.targetId), r.type, r.createdAt],
  toRecord: (row: RelationshipRow): RelationshipRecord => ({
    userId: fromId(row.user_id),
    targetId: fromId(row.target_id),
    type: toNumber(row.type) as RelationshipType,
    createdAt: toNumber(row.created_at),
  }),
};

export interface UserPrivacyRow {
  user_id: bigint;
  dm_policy: bigint;
  updated_at: bigint;
}

export const USER_PRIVACY = {
  ...statements({ name: 'user_privacy', columns: 'user_id, dm_policy, updated_at', key: ['user_id'] }),
  params: (p: UserPrivacyRecord): Param[] => [toId(p.userId), p.dmPolicy, p.updatedAt],
  toRecord: (row: UserPrivacyRow): UserPrivacyRecord => ({
    userId: fromId(row.user_id),
    dmPolicy: toNumber(row.dm_policy) as DmPolicy,
    updatedAt: toNumber(row.updated_at),
  }),
};

export interface ReportRow {
  id: bigint;
  reporter_id: bigint;
  reason: string;
  guild_id: bigint | null;
  channel_id: bigint | null;
  message_id: bigint | null;
  target_user_id: bigint | null;
}

export const REPORTS = {
  ...statements({
    name: 'reports',
    columns: 'id, reporter_id, reason, guild_id, channel_id, message_id, target_user_id',
    key: ['id'],
  }),
  params: (r: ReportRecord): Param[] => [
    toId(r.id),
    toId(r.reporterId),
    r.reason,
    toIdOrNull(r.guildId),
    toIdOrNull(r.channelId),
    toIdOrNull(r.messageId),
    toIdOrNull(r.targetUserId),
  ],
  toRecord: (row: ReportRow): ReportRecord => ({
    id: fromId(row.id),
    reporterId: fromId(row.reporter_id),
    reason: row.reason,
    guildId: fromIdOrNull(row.guild_id),
    channelId: fromIdOrNull(row.channel_id),
    messageId: fromIdOrNull(row.message_id),
    targetUserId: fromIdOrNull(row.target_user_id),
  }),
};
// --- the instance audit log ------------------------------------------------------------------------

export interface InstanceAuditEntryRow {
  id: bigint;
  actor_id: bigint;
  action: string;
  target_type: string;
  target_id: string;
  reason: string | null;
  expires_at: bigint;
}

export const INSTANCE_AUDIT_LOG = {
  ...statements({
    name: 'instance_audit_log',
    columns: 'id, actor_id, action, target_type, target_id, reason, expires_at',
    key: ['id'],
  }),
  /** Through the expiry index: only rows already expired are touched. */
  prune: 'DELETE FROM instance_audit_log WHERE expires_at <= ?',
  params: (e: InstanceAuditEntryRecord): Param[] => [
    toId(e.id),
    toId(e.actorId),
    e.action,
    e.targetType,
    e.targetId,
    e.reason,
    e.expiresAt,
  ],
  toRecord: (row: InstanceAuditEntryRow): InstanceAuditEntryRecord => ({
    id: fromId(row.id),
    actorId: fromId(row.actor_id),
    action: row.action,
    targetType: row.target_type as InstanceAuditEntryRecord['targetType'],
    targetId: row.target_id,
    reason: row.reason,
    expiresAt: toNumber(row.expires_at),
  }),
};

// --- attachments ---------------------------------------------------------------------------------

export interface AttachmentRow {
  id: bigint;
  channel_id: bigint;
  uploader_id: bigint;
  message_id: bigint | null;
  filename: string;
  size: bigint;
  content_type: string;
  width: bigint | null;
  height: bigint | null;
  created_at: bigint;
}

export const ATTACHMENTS = {
  ...statements({
    name: 'attachments',
    columns:
      'id, channel_id, uploader_id, message_id, filename, size, content_type, width, height, created_at',
    key: ['id'],
  }),
  params: (a: AttachmentRecord): Param[] => [
    toId(a.id),
    toId(a.channelId),
    toId(a.uploaderId),
    toIdOrNull(a.messageId),
    a.filename,
    a.size,
    a.contentType,
    a.width,
    a.height,
    a.createdAt,
  ],
  toRecord: (row: AttachmentRow): AttachmentRecord => ({
    id: fromId(row.id),
    channelId: fromId(row.channel_id),
    uploaderId: fromId(row.uploader_id),
    messageId: fromIdOrNull(row.message_id),
    filename: row.filename,
    size: toNumber(row.size),
    contentType: row.content_type,
    width: toNumberOrNull(row.width),
    height: toNumberOrNull(row.height),
    createdAt: toNumber(row.created_at),
  }),
};

// --- upload usage (derived: bytes of attachments per uploader, kept by triggers, migration 0007) ---------

export const UPLOAD_USAGE = {
  name: 'upload_usage',
  /** Written only by the attachments triggers, so every path that adds or removes a file keeps it. */
  read: 'SELECT bytes FROM upload_usage WHERE user_id = ?',
};

// --- jobs ----------------------------------------------------------------------------------------

export interface JobRow {
  id: string;
  name: string;
  payload: string;
  attempts: bigint;
  run_at: bigint;
  last_error: string | null;
}

/** `state`: 0 pending, 1 dead (set aside after its last attempt). */
export const JOB_PENDING = 0;
export const JOB_DEAD = 1;

export const JOBS = {
  ...statements({
    name: 'jobs',
    columns: 'id, name, payload, attempts, run_at, last_error, state',
    key: ['id'],
  }),
  /** The record's columns without the state. */
  read: 'id, name, payload, attempts, run_at, last_error',
  params: (j: JobRecord, state: number): Param[] => [
    j.id,
    j.name,
    j.payload,
    j.attempts,
    j.runAt,
    j.lastError,
    state,
  ],
  toRecord: (row: JobRow): JobRecord => ({
    id: row.id,
    name: row.name,
    payload: row.payload,
    attempts: toNumber(row.attempts),
    runAt: toNumber(row.run_at),
    lastError: row.last_error,
  }),
  toBulk: (row: JobRow & { state: bigint }): BulkJob => ({
    ...JOBS.toRecord(row),
    dead: row.state === BigInt(JOB_DEAD),
  }),
};
