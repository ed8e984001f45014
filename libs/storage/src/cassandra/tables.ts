import type { types } from 'cassandra-driver';
import { snowflakeTime } from '@parley/common';
import {
  SEARCH_LINK,
  searchTokens,
  type AttachmentRecord,
  type AttachmentRef,
  type BanRecord,
  type ChannelRecord,
  type GuildRecord,
  type GuildSettingsRecord,
  type InstanceSecretRecord,
  type NotificationPrefsRecord,
  type InviteRecord,
  type PushSubscriptionRecord,
  type JobRecord,
  type MemberRecord,
  type MessageRecord,
  type NotificationLevel,
  type OverwriteRecord,
  type RoleRecord,
  type TokenRecord,
  type UserRecord,
  type UserIdentityRecord,
  type DataExportRecord,
  type AccountTokenKind,
  type AccountTokenRecord,
  type AuditLogEntryRecord,
  type EmbedRecord,
  type LinkPreviewRecord,
  type PinRecord,
  type AutoModRuleRecord,
  type DmPolicy,
  type RelationshipRecord,
  type RelationshipType,
  type ReportRecord,
  type UserPrivacyRecord,
  type EmojiRecord,
  type MessageWebhookRecord,
  type WebhookRecord,
  InstanceAuditEntryRecord,
} from '../contract';
import { decodeOverrides, encodeOverrides } from '../contract/notification-overrides';
import { bucketOf } from './buckets';
import { memberShard } from './member-shards';
import { shardOf } from './shards';
import { searchBucketOf, searchTermsOf } from './search-terms';
import {
  fromId,
  fromIdOrNull,
  fromIds,
  fromTime,
  fromTimeOrNull,
  int,
  str,
  strOrNull,
  toId,
  toTime,
} from './codec';

/**
 * Every Cassandra table's columns, write statements and row <-> record mapping, declared once. The
 * repositories (request paths) and the bulk writer (migrate, import) both write through these, so a
 * new column is added here and in a migration, nowhere else. Every statement is prepared by the
 * session; which consistency it runs at is the caller's operation class (write, lwt, read).
 *
 * Absent values: a record's null binds as `absent`, which is `undefined` ("unset": no cell written, no
 * tombstone) on every request path and in a first copy, and `null` only where a bulk rewrite must
 * clear what the target holds (`BulkWriteOptions.overwrite`).
 */
export type Absent = undefined | null;

export interface Statement {
  query: string;
  params: unknown[];
}

type Row = types.Row;

const opt = <V>(value: V | null, absent: Absent): V | null | undefined => (value === null ? absent : value);
const insertInto = (table: string, columns: string): string =>
  `INSERT INTO ${table} (${columns}) VALUES (${columns
    .split(', ')
    .map(() => '?')
    .join(', ')})`;

// --- users and their uniqueness claims --------------------------------------------------------------

const USER_COLUMNS =
  'id, username, email, display_name, avatar, password_hash, created_at, bot_owner_id, app_flags, email_verified, mfa_secret, mfa_backup_codes, admin, disabled, approval_pending';

export const USERS = {
  columns: USER_COLUMNS,
  insert: insertInto('users', USER_COLUMNS),
  delete: 'DELETE FROM users WHERE id = ?',
  /** The approval queue: one partition of the accounts waiting for approval (migration 0032). */
  pendingQueue: 0,
  pendingAdd: 'INSERT INTO pending_registrations (queue, user_id) VALUES (?, ?)',
  pendingRemove: 'DELETE FROM pending_registrations WHERE queue = ? AND user_id = ?',
  setMfa: 'UPDATE users SET mfa_secret = ?, mfa_backup_codes = ? WHERE id = ? IF mfa_secret = ?',
  replaceBackupCodes: 'UPDATE users SET mfa_backup_codes = ? WHERE id = ? IF mfa_backup_codes = ?',
  /** A half row (an UPDATE that raced a delete) has no username: it is not a user. */
  present: 'username',
  /** Username (case-insensitive) and email are claimed by lightweight transactions before the row is written. */
  claims: {
    username: {
      take: 'INSERT INTO users_by_username (username_lower, user_id) VALUES (?, ?) IF NOT EXISTS',
      give: 'DELETE FROM users_by_username WHERE username_lower = ? IF user_id = ?',
      /** A claim whose holder never wrote (or no longer has) that name passes to a new holder. */
      reclaim: 'UPDATE users_by_username SET user_id = ? WHERE username_lower = ? IF user_id = ?',
      since: 'SELECT WRITETIME(user_id) AS at FROM users_by_username WHERE username_lower = ?',
      field: 'username',
    },
    email: {
      take: 'INSERT INTO users_by_email (email, user_id) VALUES (?, ?) IF NOT EXISTS',
      give: 'DELETE FROM users_by_email WHERE email = ? IF user_id = ?',
      reclaim: 'UPDATE users_by_email SET user_id = ? WHERE email = ? IF user_id = ?',
      since: 'SELECT WRITETIME(user_id) AS at FROM users_by_email WHERE email = ?',
      field: 'email',
    },
  },
  params: (u: UserRecord, absent: Absent): unknown[] => [
    toId(u.id),
    u.username,
    u.email.toLowerCase(),
    opt(u.displayName, absent),
    opt(u.avatar, absent),
    u.passwordHash,
    toTime(u.createdAt),
    opt(u.botOwnerId ? toId(u.botOwnerId) : null, absent),
    opt(u.appFlags ? u.appFlags : null, absent),
    u.emailVerified,
    opt(u.mfaSecret, absent),
    u.mfaBackupCodes.length > 0 ? u.mfaBackupCodes : absent,
    // Only a set flag gets a cell (no cell reads as false): no tombstones for the ordinary account.
    u.admin === true ? true : absent,
    u.disabled === true ? true : absent,
    u.approvalPending === true ? true : absent,
  ],
  toRecord: (row: Row): UserRecord => ({
    id: fromId(row.get('id')),
    username: str(row, 'username'),
    email: str(row, 'email'),
    displayName: strOrNull(row, 'display_name'),
    avatar: strOrNull(row, 'avatar'),
    passwordHash: str(row, 'password_hash'),
    createdAt: fromTime(row.get('created_at')),
    botOwnerId: row.get('bot_owner_id') == null ? null : fromId(row.get('bot_owner_id')),
    appFlags: (row.get('app_flags') as number | null) ?? 0,
    // No cell: a row from before migration 0024, whose address counts as verified.
    emailVerified: row.get('email_verified') !== false,
    mfaSecret: strOrNull(row, 'mfa_secret'),
    mfaBackupCodes: (row.get('mfa_backup_codes') as string[] | null) ?? [],
    admin: row.get('admin') === true,
    disabled: row.get('disabled') === true,
    approvalPending: row.get('approval_pending') === true,
  }),
};

// --- link previews: a cache of unfurled URLs (transient: no bulk copy, migration 0028) ----------------------

const LINK_PREVIEW_COLUMNS = 'url, embed, fetched_at, expires_at';

export const LINK_PREVIEWS = {
  columns: LINK_PREVIEW_COLUMNS,
  /** Rows carry a TTL of their lifetime: the cache empties itself, no sweep. */
  insert: `${insertInto('link_previews', LINK_PREVIEW_COLUMNS)} USING TTL ?`,
  find: `SELECT ${LINK_PREVIEW_COLUMNS} FROM link_previews WHERE url = ?`,
  params: (p: LinkPreviewRecord): unknown[] => [
    p.url,
    // '' (a value, not an unset column) for "nothing to show", so it replaces an earlier preview of the URL.
    p.embed === null ? '' : JSON.stringify(p.embed),
    toTime(p.fetchedAt),
    toTime(p.expiresAt),
    // At least a second: TTL 0 would mean forever.
    Math.max(1, Math.ceil((p.expiresAt - Date.now()) / 1000)),
  ],
  toRecord: (row: Row): LinkPreviewRecord => {
    const embed = row.get('embed') as string | null;
    return {
      url: str(row, 'url'),
      embed:
        embed === null || embed === undefined || embed === '' ? null : (JSON.parse(embed) as EmbedRecord),
      fetchedAt: fromTime(row.get('fetched_at')),
      expiresAt: fromTime(row.get('expires_at')),
    };
  },
};

// --- single sign-on identities (by identity, and by account) ------------------------------------------

const IDENTITY_COLUMNS = 'provider, subject, user_id, email, created_at';

export const USER_IDENTITIES = {
  columns: IDENTITY_COLUMNS,
  present: 'user_id',
  /** The claim: of two links of one identity only one is applied. */
  claim: `${insertInto('user_identities', IDENTITY_COLUMNS)} IF NOT EXISTS`,
  insert: insertInto('user_identities', IDENTITY_COLUMNS),
  insertByUser: insertInto('user_identities_by_user', IDENTITY_COLUMNS),
  find: `SELECT ${IDENTITY_COLUMNS} FROM user_identities WHERE provider = ? AND subject = ?`,
  listForUser: `SELECT ${IDENTITY_COLUMNS} FROM user_identities_by_user WHERE user_id = ?`,
  delete: 'DELETE FROM user_identities WHERE provider = ? AND subject = ?',
  deleteByUser: 'DELETE FROM user_identities_by_user WHERE user_id = ?',
  deleteOneByUser: 'DELETE FROM user_identities_by_user WHERE user_id = ? AND provider = ? AND subject = ?',
  params: (i: UserIdentityRecord): unknown[] => [
    i.provider,
    i.subject,
    toId(i.userId),
    i.email,
    toTime(i.createdAt),
  ],
  toRecord: (row: Row): UserIdentityRecord => ({
    provider: str(row, 'provider'),
    subject: str(row, 'subject'),
    userId: fromId(row.get('user_id')),
    email: strOrNull(row, 'email'),
    createdAt: fromTime(row.get('created_at')),
  }),
};

// --- personal data exports (transient: no bulk copy) ----------------------------------------------------

const DATA_EXPORT_COLUMNS = 'user_id, id, status, size, created_at, finished_at';

export const DATA_EXPORTS = {
  // Every column is always written (null cells included), so a replaced row keeps nothing of the last one.
  insert: insertInto('data_exports', DATA_EXPORT_COLUMNS),
  find: `SELECT ${DATA_EXPORT_COLUMNS} FROM data_exports WHERE user_id = ?`,
  delete: 'DELETE FROM data_exports WHERE user_id = ?',
  present: 'status',
  params: (e: DataExportRecord): unknown[] => [
    toId(e.userId),
    toId(e.id),
    e.status,
    e.size === null ? null : BigInt(e.size),
    toTime(e.createdAt),
    e.finishedAt === null ? null : toTime(e.finishedAt),
  ],
  toRecord: (row: Row): DataExportRecord => ({
    userId: fromId(row.get('user_id')),
    id: fromId(row.get('id')),
    status: str(row, 'status') as DataExportRecord['status'],
    size: row.get('size') === null ? null : Number(row.get('size')),
    createdAt: fromTime(row.get('created_at')),
    finishedAt: fromTimeOrNull(row.get('finished_at')),
  }),
};

// --- single-use mailed tokens (transient: no bulk copy) -----------------------------------------------

const ACCOUNT_TOKEN_COLUMNS = 'token_hash, kind, user_id, stamp, expires_at';

export const ACCOUNT_TOKENS = {
  columns: ACCOUNT_TOKEN_COLUMNS,
  insert: `${insertInto('account_tokens', ACCOUNT_TOKEN_COLUMNS)} USING TTL ?`,
  /** The lightweight transaction that makes a token single-use: only one caller sees it applied. */
  consume: 'DELETE FROM account_tokens WHERE token_hash = ? IF EXISTS',
  find: `SELECT ${ACCOUNT_TOKEN_COLUMNS} FROM account_tokens WHERE token_hash = ?`,
  params: (t: AccountTokenRecord): unknown[] => [
    t.tokenHash,
    t.kind,
    toId(t.userId),
    t.stamp,
    toTime(t.expiresAt),
    // The row lives as long as the token (at least a second: TTL 0 would mean forever).
    Math.max(1, Math.ceil((t.expiresAt - Date.now()) / 1000)),
  ],
  toRecord: (row: Row): AccountTokenRecord => ({
    tokenHash: str(row, 'token_hash'),
    kind: str(row, 'kind') as AccountTokenKind,
    userId: fromId(row.get('user_id')),
    stamp: str(row, 'stamp'),
    expiresAt: fromTime(row.get('expires_at')),
  }),
};

// --- tokens, by hash and by user ------------------------------------------------------------------

// Rows outlive the expiry by a day: the auth service refuses expired tokens itself, the TTL only cleans up.
const TOKEN_TTL_GRACE_S = 24 * 60 * 60;

export const TOKENS = {
  columns: 'token_hash, user_id, created_at, expires_at',
  insert: 'INSERT INTO tokens (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?) USING TTL ?',
  insertByUser: 'INSERT INTO tokens_by_user (user_id, token_hash) VALUES (?, ?) USING TTL ?',
  delete: 'DELETE FROM tokens WHERE token_hash = ?',
  deleteByUser: 'DELETE FROM tokens_by_user WHERE user_id = ? AND token_hash = ?',
  present: 'user_id',
  /** Seconds the rows live, or 0 (no TTL) for a token that never expires. */
  ttl(expiresAt: number | null): number {
    if (expiresAt === null) return 0;
    return Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000)) + TOKEN_TTL_GRACE_S;
  },
  /** Both rows of a token, for one logged batch. */
  writes(t: TokenRecord, absent: Absent): Statement[] {
    const seconds = TOKENS.ttl(t.expiresAt);
    const user = toId(t.userId);
    return [
      {
        query: TOKENS.insert,
        params: [
          t.tokenHash,
          user,
          toTime(t.createdAt),
          t.expiresAt === null ? absent : toTime(t.expiresAt),
          seconds,
        ],
      },
      { query: TOKENS.insertByUser, params: [user, t.tokenHash, seconds] },
    ];
  },
  removes: (tokenHash: string, userId: bigint): Statement[] => [
    { query: TOKENS.delete, params: [tokenHash] },
    { query: TOKENS.deleteByUser, params: [userId, tokenHash] },
  ],
  toRecord: (row: Row): TokenRecord => ({
    tokenHash: row.get('token_hash') as string,
    userId: fromId(row.get('user_id')),
    createdAt: fromTime(row.get('created_at')),
    expiresAt: fromTimeOrNull(row.get('expires_at')),
  }),
};

// --- guilds --------------------------------------------------------------------------------------

const GUILD_COLUMNS = 'id, name, icon, owner_id, created_at, default_message_notifications';

export const GUILDS = {
  columns: GUILD_COLUMNS,
  insert: insertInto('guilds', GUILD_COLUMNS),
  delete: 'DELETE FROM guilds WHERE id = ?',
  present: 'name',
  write: (g: GuildRecord, absent: Absent): Statement => ({
    query: GUILDS.insert,
    params: [
      toId(g.id),
      g.name,
      opt(g.icon, absent),
      toId(g.ownerId),
      toTime(g.createdAt),
      g.defaultMessageNotifications,
    ],
  }),
  toRecord: (row: Row): GuildRecord => ({
    id: fromId(row.get('id')),
    name: row.get('name') as string,
    icon: strOrNull(row, 'icon'),
    ownerId: fromId(row.get('owner_id')),
    createdAt: fromTime(row.get('created_at')),
    // Absent on guilds created before migration 0027: Discord's default, all messages.
    defaultMessageNotifications: int(row, 'default_message_notifications'),
  }),
};

// --- roles ---------------------------------------------------------------------------------------

const ROLE_COLUMNS = 'guild_id, role_id, name, permissions, color, position, mentionable';

export const ROLES = {
  columns: ROLE_COLUMNS,
  insert: insertInto('roles', ROLE_COLUMNS),
  delete: 'DELETE FROM roles WHERE guild_id = ? AND role_id = ?',
  present: 'name',
  write: (r: RoleRecord): Statement => ({
    query: ROLES.insert,
    params: [toId(r.guildId), toId(r.id), r.name, r.permissions, r.color, r.position, r.mentionable],
  }),
  toRecord: (row: Row): RoleRecord => ({
    id: fromId(row.get('role_id')),
    guildId: fromId(row.get('guild_id')),
    name: row.get('name') as string,
    permissions: row.get('permissions') as string,
    color: int(row, 'color'),
    position: int(row, 'position'),
    mentionable: row.get('mentionable') === true,
  }),
};

// --- members (sharded), each user's guilds, and the holders of each role --------------------------------

const MEMBER_COLUMNS = 'guild_id, user_id, nick, roles, joined_at, communication_disabled_until';
const MEMBER_KEY = 'guild_id = ? AND shard = ? AND user_id = ?';

/** Who holds a role (migration 0045): derived from the members' role sets, never exported. */
export const MEMBERS_BY_ROLE = {
  insert: 'INSERT INTO members_by_role (guild_id, role_id, shard, user_id) VALUES (?, ?, ?, ?)',
  delete: 'DELETE FROM members_by_role WHERE guild_id = ? AND role_id = ? AND shard = ? AND user_id = ?',
  deletePartition: 'DELETE FROM members_by_role WHERE guild_id = ? AND role_id = ? AND shard = ?',
  page: 'SELECT user_id FROM members_by_role WHERE guild_id = ? AND role_id = ? AND shard = ? AND user_id > ? LIMIT ?',
  /**
   * The index rows of a member whose roles become `roles` (from `held`): every role now held is written again
   * (an upsert) and only the roles given up are deleted. In the logged batch of the member row's own write, so
   * of two racing changes the later batch wins in both tables, and a stale read of `held` can leave a row too
   * many, never one too few.
   */
  changes(guild: bigint, user: bigint, roles: readonly bigint[], held: readonly bigint[]): Statement[] {
    const shard = memberShard(user);
    const kept = new Set(roles);
    return [
      ...roles.map((role) => ({ query: MEMBERS_BY_ROLE.insert, params: [guild, role, shard, user] })),
      ...held
        .filter((role) => !kept.has(role))
        .map((role) => ({ query: MEMBERS_BY_ROLE.delete, params: [guild, role, shard, user] })),
    ];
  },
};

export const MEMBERS = {
  columns: MEMBER_COLUMNS,
  insert: `INSERT INTO guild_members (guild_id, shard, user_id, nick, roles, joined_at, communication_disabled_until)
    VALUES (?, ?, ?, ?, ?, ?, ?)`,
  insertByUser: 'INSERT INTO guilds_by_user (user_id, guild_id) VALUES (?, ?)',
  delete: `DELETE FROM guild_members WHERE ${MEMBER_KEY}`,
  deleteByUser: 'DELETE FROM guilds_by_user WHERE user_id = ? AND guild_id = ?',
  find: `SELECT ${MEMBER_COLUMNS} FROM guild_members WHERE ${MEMBER_KEY}`,
  findMany: `SELECT ${MEMBER_COLUMNS} FROM guild_members WHERE guild_id = ? AND shard = ? AND user_id IN ?`,
  /** A slice of one shard after a user id (-1: from the first). */
  page: `SELECT ${MEMBER_COLUMNS} FROM guild_members WHERE guild_id = ? AND shard = ? AND user_id > ? LIMIT ?`,
  deleteShard: 'DELETE FROM guild_members WHERE guild_id = ? AND shard = ?',
  /** Rows of any shards (IN on the last partition key column), in shard order, up to the limit. */
  sample: `SELECT ${MEMBER_COLUMNS} FROM guild_members WHERE guild_id = ? AND shard IN ? LIMIT ?`,
  present: 'joined_at',
  /** Where a member's row lives: guild, shard, user. */
  key: (guild: bigint, user: bigint): [bigint, number, bigint] => [guild, memberShard(user), user],
  /**
   * The member row, its guilds_by_user row and its role index rows (`held`: the roles a stored row of this
   * member holds, whose index rows go if no longer held), for one logged batch.
   */
  writes(m: MemberRecord, absent: Absent, held: readonly bigint[] = []): Statement[] {
    const guild = toId(m.guildId);
    const user = toId(m.userId);
    const roles = m.roles.map(toId);
    return [
      // A stored row's roles must be replaced even by none, or the index rows deleted below would be missing.
      { query: MEMBERS.insert, params: MEMBERS.params(m, absent, held.length > 0) },
      { query: MEMBERS.insertByUser, params: [user, guild] },
      ...MEMBERS_BY_ROLE.changes(guild, user, roles, held),
    ];
  },
  params(m: MemberRecord, absent: Absent, replaceRoles = false): unknown[] {
    // No roles: unset, or (a rewrite) an empty frozen set, which is a value and not a tombstone.
    const roles =
      m.roles.length === 0 && absent === undefined && !replaceRoles ? undefined : m.roles.map(toId);
    return [
      ...MEMBERS.key(toId(m.guildId), toId(m.userId)),
      opt(m.nick, absent),
      roles,
      toTime(m.joinedAt),
      m.communicationDisabledUntil == null ? absent : toTime(m.communicationDisabledUntil),
    ];
  },
  /** The member row, its guilds_by_user row and the index rows of the roles it held. */
  removes: (guild: bigint, user: bigint, held: readonly bigint[]): Statement[] => [
    { query: MEMBERS.delete, params: MEMBERS.key(guild, user) },
    { query: MEMBERS.deleteByUser, params: [user, guild] },
    ...MEMBERS_BY_ROLE.changes(guild, user, [], held),
  ],
  /** A join: only a new row counts toward the guild's member count. */
  insertIfAbsent: `INSERT INTO guild_members (guild_id, shard, user_id, nick, roles, joined_at, communication_disabled_until)
    VALUES (?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS`,
  /** A leave: only the call that removed the row takes it off the count. */
  deleteIfPresent: `DELETE FROM guild_members WHERE ${MEMBER_KEY} IF EXISTS`,
  /** The role ids a member row holds (an empty list for none, or for no row). */
  rolesOf: (row: Row | null | undefined): bigint[] => [
    ...((row?.get('roles') as Iterable<bigint> | null | undefined) ?? []),
  ],
  toRecord: (row: Row): MemberRecord => ({
    guildId: fromId(row.get('guild_id')),
    userId: fromId(row.get('user_id')),
    nick: strOrNull(row, 'nick'),
    roles: fromIds(row.get('roles')),
    joinedAt: fromTime(row.get('joined_at')),
    // Only a timed-out member carries the field: records written without it read back equal.
    ...(row.get('communication_disabled_until') == null
      ? {}
      : { communicationDisabledUntil: fromTime(row.get('communication_disabled_until')) }),
  }),
};

/** Members per guild (migration 0013): derived, never exported. Counter updates are never retried. */
export const GUILD_MEMBER_COUNTS = {
  read: 'SELECT n FROM guild_member_counts WHERE guild_id = ?',
  add: 'UPDATE guild_member_counts SET n = n + ? WHERE guild_id = ?',
  delete: 'DELETE FROM guild_member_counts WHERE guild_id = ?',
  /** The members of one shard of a guild, for a recount (a repair path: reads proportional to the guild). */
  countMembers: 'SELECT COUNT(*) AS n FROM guild_members WHERE guild_id = ? AND shard = ?',
};

// --- channels (by id, by guild), overwrites, and each user's DM channels ------------------------------

const CHANNEL_COLUMNS =
  'id, type, guild_id, name, topic, parent_id, position, rate_limit_per_user, recipients';
const CHANNEL_BY_GUILD_COLUMNS =
  'guild_id, channel_id, type, name, topic, parent_id, position, rate_limit_per_user';

export const CHANNELS = {
  columns: CHANNEL_COLUMNS,
  byGuildColumns: CHANNEL_BY_GUILD_COLUMNS.replace('guild_id, ', ''),
  insert: insertInto('channels', CHANNEL_COLUMNS),
  insertByGuild: insertInto('channels_by_guild', CHANNEL_BY_GUILD_COLUMNS),
  delete: 'DELETE FROM channels WHERE id = ?',
  deleteByGuild: 'DELETE FROM channels_by_guild WHERE guild_id = ? AND channel_id = ?',
  present: 'type',
  /** The channel row and (guild channels) its by-guild copy, for one logged batch. */
  writes(c: ChannelRecord, absent: Absent): Statement[] {
    const channel = toId(c.id);
    const shared = [
      opt(c.name, absent),
      opt(c.topic, absent),
      c.parentId === null ? absent : toId(c.parentId),
      c.position,
      c.rateLimitPerUser ? c.rateLimitPerUser : absent,
    ];
    const statements: Statement[] = [
      {
        query: CHANNELS.insert,
        params: [
          channel,
          c.type,
          c.guildId === null ? absent : toId(c.guildId),
          ...shared,
          c.recipients.length === 0 ? absent : c.recipients.map(toId),
        ],
      },
    ];
    if (c.guildId !== null)
      statements.push({
        query: CHANNELS.insertByGuild,
        params: [toId(c.guildId), channel, c.type, ...shared],
      });
    return statements;
  },
  removes(channel: bigint, guild: bigint | null): Statement[] {
    const statements: Statement[] = [
      { query: CHANNELS.delete, params: [channel] },
      { query: CHANNEL_LAST_MESSAGES.delete, params: [channel] },
    ];
    if (guild !== null) statements.push({ query: CHANNELS.deleteByGuild, params: [guild, channel] });
    return statements;
  },
  /** A row of `channels` (by id); overwrites live in their own table. */
  toRecord: (row: Row, overwrites: OverwriteRecord[]): ChannelRecord => ({
    id: fromId(row.get('id')),
    type: int(row, 'type'),
    guildId: fromIdOrNull(row.get('guild_id')),
    name: strOrNull(row, 'name'),
    topic: strOrNull(row, 'topic'),
    parentId: fromIdOrNull(row.get('parent_id')),
    position: int(row, 'position'),
    recipients: fromIds(row.get('recipients')),
    overwrites,
    // Only a channel in slowmode carries the field: records written without it read back equal.
    ...(int(row, 'rate_limit_per_user') > 0 ? { rateLimitPerUser: int(row, 'rate_limit_per_user') } : {}),
  }),
};

const OVERWRITE_COLUMNS = 'guild_id, channel_id, target_id, type, allow_bits, deny_bits';

/** Every overwrite of a guild in one partition. */
export const OVERWRITES = {
  columns: OVERWRITE_COLUMNS,
  insert: insertInto('channel_overwrites', OVERWRITE_COLUMNS),
  delete: 'DELETE FROM channel_overwrites WHERE guild_id = ? AND channel_id = ? AND target_id = ?',
  deleteOfChannel: 'DELETE FROM channel_overwrites WHERE guild_id = ? AND channel_id = ?',
  present: 'allow_bits',
  write: (guild: bigint, o: OverwriteRecord): Statement => ({
    query: OVERWRITES.insert,
    params: [guild, toId(o.channelId), toId(o.id), o.type, o.allow, o.deny],
  }),
  toRecord: (row: Row): OverwriteRecord => ({
    channelId: fromId(row.get('channel_id')),
    id: fromId(row.get('target_id')),
    type: int(row, 'type') === 1 ? 1 : 0,
    allow: row.get('allow_bits') as string,
    deny: row.get('deny_bits') as string,
  }),
};

export const DM_CHANNELS_BY_USER = {
  insert: 'INSERT INTO dm_channels_by_user (user_id, channel_id) VALUES (?, ?)',
  delete: 'DELETE FROM dm_channels_by_user WHERE user_id = ? AND channel_id = ?',
};

/** The DM uniqueness claim: one row per unordered pair, taken by a lightweight transaction. */
export const DM_PAIRS = {
  columns: 'user_low, user_high, channel_id',
  claim: 'INSERT INTO dm_pairs (user_low, user_high, channel_id) VALUES (?, ?, ?) IF NOT EXISTS',
  /** Gives the claim back only while it still names this channel. */
  release: 'DELETE FROM dm_pairs WHERE user_low = ? AND user_high = ? IF channel_id = ?',
  present: 'channel_id',
};

// --- messages, their bucket markers and reactions ----------------------------------------------------

const MESSAGE_COLUMNS =
  'channel_id, bucket, message_id, guild_id, author_id, content, edited_at, attachments, mentions, mention_everyone, pinned, type, nonce, reference_id, mention_roles, embeds, flags, webhook';

/**
 * Migration 0043: each message's row in its author's partition for its 10 days (the bucket of `messages`), so a
 * deleted account's messages are found a partition at a time, never by reading histories (derived data).
 */
export const MESSAGES_BY_AUTHOR = {
  insert: 'INSERT INTO messages_by_author (author_id, bucket, message_id, channel_id) VALUES (?, ?, ?, ?)',
  /** Newest first below a message id (the first page of a bucket passes one above every id). */
  page: `SELECT message_id, channel_id FROM messages_by_author
    WHERE author_id = ? AND bucket = ? AND message_id < ? LIMIT ?`,
  forgetBucket: 'DELETE FROM messages_by_author WHERE author_id = ? AND bucket = ?',
  delete: 'DELETE FROM messages_by_author WHERE author_id = ? AND bucket = ? AND message_id = ?',
  /** The insert's parameters; the bucket is the message's (as in `messages`), computed by the caller. */
  params: (m: Pick<MessageRecord, 'id' | 'authorId' | 'channelId'>, bucket: number): unknown[] => [
    toId(m.authorId),
    bucket,
    toId(m.id),
    toId(m.channelId),
  ],
};

export const MESSAGES = {
  columns: MESSAGE_COLUMNS,
  // search_terms (migration 0005) is no longer written: since 0010 search reads MESSAGE_SEARCH below.
  insert: insertInto('messages', MESSAGE_COLUMNS),
  /** The channel's buckets that hold messages: a message is reachable only through its bucket's marker. */
  markBucket: 'INSERT INTO channel_buckets (channel_id, bucket) VALUES (?, ?)',
  delete: 'DELETE FROM messages WHERE channel_id = ? AND bucket = ? AND message_id = ?',
  /** An UPDATE racing a delete leaves a row without its author: such a row is not a message. */
  present: 'author_id',
  /** The insert's parameters; channel and bucket come in already converted (the send path needs them twice). */
  params: (m: MessageRecord, channel: bigint, bucket: number, absent: Absent): unknown[] => [
    channel,
    bucket,
    toId(m.id),
    m.guildId === null ? absent : toId(m.guildId),
    toId(m.authorId),
    m.content,
    m.editedAt === null ? absent : toTime(m.editedAt),
    m.attachments.length === 0 ? absent : m.attachments.map(toAttachmentUdt),
    m.mentions.length === 0 ? absent : m.mentions.map(toId),
    m.mentionEveryone,
    m.pinned,
    m.type,
    m.nonce ?? absent,
    m.referenceId === null ? absent : toId(m.referenceId),
    m.mentionRoles.length === 0 ? absent : m.mentionRoles.map(toId),
    m.embeds.length === 0 ? absent : JSON.stringify(m.embeds),
    m.flags === 0 ? absent : m.flags,
    m.webhook ? JSON.stringify(m.webhook) : absent,
  ],
  toRecord: (row: Row): MessageRecord => ({
    id: fromId(row.get('message_id')),
    channelId: fromId(row.get('channel_id')),
    guildId: fromIdOrNull(row.get('guild_id')),
    authorId: fromId(row.get('author_id')),
    content: (row.get('content') as string | null) ?? '',
    editedAt: fromTimeOrNull(row.get('edited_at')),
    attachments: ((row.get('attachments') as Record<string, unknown>[] | null) ?? []).map(toAttachmentRef),
    mentions: fromIds(row.get('mentions')),
    mentionRoles: fromIds(row.get('mention_roles')),
    mentionEveryone: row.get('mention_everyone') === true,
    pinned: row.get('pinned') === true,
    type: (row.get('type') as number | null) ?? 0,
    nonce: (row.get('nonce') as string | null) ?? null,
    referenceId: fromIdOrNull(row.get('reference_id')),
    embeds: JSON.parse((row.get('embeds') as string | null) ?? '[]') as EmbedRecord[],
    flags: (row.get('flags') as number | null) ?? 0,
    // Rows read by a step older than 0037 (no such column selected) are no webhook's either.
    ...webhookOf(row),
  }),
};

function webhookOf(row: Row): { webhook?: MessageWebhookRecord } {
  const json = row.get('webhook') as string | null | undefined;
  return json ? { webhook: JSON.parse(json) as MessageWebhookRecord } : {};
}

/** An attachment as the `attachment` type of messages.attachments holds it. */
export function toAttachmentUdt(a: AttachmentRef): Record<string, unknown> {
  return {
    id: toId(a.id),
    filename: a.filename,
    size: BigInt(a.size),
    content_type: a.contentType,
    width: a.width ?? undefined,
    height: a.height ?? undefined,
    // Only when given: a value for a field the type lacks (before 0044) would not encode.
    ...(a.description !== undefined ? { description: a.description } : {}),
  };
}

function toAttachmentRef(value: Record<string, unknown>): AttachmentRef {
  return {
    id: fromId(value.id),
    filename: value.filename as string,
    size: Number(value.size),
    contentType: value.content_type as string,
    width: (value.width as number | null) ?? null,
    height: (value.height as number | null) ?? null,
    ...(typeof value.description === 'string' ? { description: value.description } : {}),
  };
}

/**
 * Each channel's last message id, written on send without a read: the write timestamp is the snowflake's
 * time in microseconds, so the highest id wins whatever order sends (or retries, or imports) arrive in; ids
 * of one millisecond tie on the timestamp and Cassandra keeps the greater value, the greater id. A deleted
 * message leaves it in place (Discord's last_message_id "may not point to an existing message").
 */
export const CHANNEL_LAST_MESSAGES = {
  write: 'INSERT INTO channel_last_messages (channel_id, last_message_id) VALUES (?, ?) USING TIMESTAMP ?',
  read: 'SELECT channel_id, last_message_id FROM channel_last_messages WHERE channel_id IN ?',
  delete: 'DELETE FROM channel_last_messages WHERE channel_id = ?',
  /** A channel found without messages: 0 at write time 0, which any send's write replaces. */
  none: 0n,
  /** The write's parameters for message `messageId` of `channel`. */
  params: (channel: bigint, messageId: string): unknown[] => [
    channel,
    toId(messageId),
    BigInt(snowflakeTime(messageId)) * 1000n,
  ],
};

/**
 * Reactions in the partition of their message's bucket and the reacting user's shard (migration 0046):
 * `((channel_id, bucket, shard), message_id, emoji, user_id)`.
 */
export const REACTIONS = {
  columns: 'channel_id, message_id, emoji, user_id',
  insert:
    'INSERT INTO reactions_by_shard (channel_id, bucket, shard, message_id, emoji, user_id) VALUES (?, ?, ?, ?, ?, ?)',
  delete:
    'DELETE FROM reactions_by_shard WHERE channel_id = ? AND bucket = ? AND shard = ? AND message_id = ? AND emoji = ? AND user_id = ?',
  /** The request path's add: a lightweight transaction, so only the call that created the row counts it. */
  insertIfAbsent:
    'INSERT INTO reactions_by_shard (channel_id, bucket, shard, message_id, emoji, user_id) VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS',
  /** The request path's remove: only the call that removed the row takes it off the count. */
  deleteIfPresent:
    'DELETE FROM reactions_by_shard WHERE channel_id = ? AND bucket = ? AND shard = ? AND message_id = ? AND emoji = ? AND user_id = ? IF EXISTS',
  /** The reactors of one (message, emoji) in one shard, for a recount (a repair path, never a page read). */
  countOf:
    'SELECT COUNT(*) AS n FROM reactions_by_shard WHERE channel_id = ? AND bucket = ? AND shard = ? AND message_id = ? AND emoji = ?',
  /** The full key of one reaction: the parameters of both `insert` and `delete`. */
  key: (channelId: string, messageId: string, emoji: string, userId: string): unknown[] => {
    const user = toId(userId);
    return [toId(channelId), bucketOf(messageId), shardOf(user), toId(messageId), emoji, user];
  },
};

/**
 * Materialised reaction counts (migration 0012), a counter per `((channel_id, bucket), message_id, emoji)`:
 * derived from `reactions_by_bucket`, never exported. Counter updates are not idempotent: never retried.
 */
export const REACTION_COUNTS = {
  add: 'UPDATE reaction_counts SET n = n + ? WHERE channel_id = ? AND bucket = ? AND message_id = ? AND emoji = ?',
  one: 'SELECT n FROM reaction_counts WHERE channel_id = ? AND bucket = ? AND message_id = ? AND emoji = ?',
  ofMessages:
    'SELECT message_id, emoji, n FROM reaction_counts WHERE channel_id = ? AND bucket = ? AND message_id IN ?',
  deleteMessage: 'DELETE FROM reaction_counts WHERE channel_id = ? AND bucket = ? AND message_id = ?',
  deleteBucket: 'DELETE FROM reaction_counts WHERE channel_id = ? AND bucket = ?',
  scan: 'SELECT channel_id, bucket, message_id, emoji, n FROM reaction_counts',
};

// --- pins: one small partition per channel ----------------------------------------------------------

export const PINS = {
  insert: 'INSERT INTO channel_pins (channel_id, message_id, pinned_at) VALUES (?, ?, ?)',
  delete: 'DELETE FROM channel_pins WHERE channel_id = ? AND message_id = ?',
  deleteChannel: 'DELETE FROM channel_pins WHERE channel_id = ?',
  list: 'SELECT channel_id, message_id, pinned_at FROM channel_pins WHERE channel_id = ?',
  scan: 'SELECT channel_id, message_id, pinned_at FROM channel_pins',
  params: (p: PinRecord): unknown[] => [toId(p.channelId), toId(p.messageId), toTime(p.pinnedAt)],
  toRecord: (row: Row): PinRecord => ({
    channelId: fromId(row.get('channel_id')),
    messageId: fromId(row.get('message_id')),
    pinnedAt: fromTime(row.get('pinned_at')),
  }),
};

// --- read states: positions, and mention counters (counters cannot share a table) --------------------

export const READ_STATES = {
  insert: 'INSERT INTO read_states (user_id, channel_id, last_message_id) VALUES (?, ?, ?)',
  /** An ack: the position and the mention total it read (migration 0014); unread = total - acked. */
  ack: 'INSERT INTO read_states (user_id, channel_id, last_message_id, acked_mentions) VALUES (?, ?, ?, ?)',
  ackedOf: 'SELECT acked_mentions FROM read_states WHERE user_id = ? AND channel_id = ?',
  clearAcked: 'DELETE acked_mentions FROM read_states WHERE user_id = ? AND channel_id = ?',
  delete: 'DELETE FROM read_states WHERE user_id = ? AND channel_id = ?',
  mentionsOf: 'SELECT mentions FROM read_state_mentions WHERE user_id = ? AND channel_id = ?',
  /** Counter updates are not idempotent: never retried by the driver. */
  addMentions: 'UPDATE read_state_mentions SET mentions = mentions + ? WHERE user_id = ? AND channel_id = ?',
};

// --- invites, and each guild's invite codes -----------------------------------------------------------

const INVITE_COLUMNS =
  'code, guild_id, channel_id, inviter_id, max_age, max_uses, uses, created_at, expires_at';
// Expired invites linger a day (so "expired" can still be told apart from "unknown"), then go by TTL.
const INVITE_TTL_GRACE_S = 24 * 60 * 60;

/** The invite row is only ever written by lightweight transactions: the code is a claim. */
export const INVITES = {
  columns: INVITE_COLUMNS,
  claim: `${insertInto('invites', INVITE_COLUMNS)} IF NOT EXISTS USING TTL ?`,
  /** Rewrites a held invite in place (a re-import of the same invite, changed). */
  rewrite: `UPDATE invites USING TTL ? SET channel_id = ?, inviter_id = ?, max_age = ?, max_uses = ?, uses = ?,
    expires_at = ? WHERE code = ? IF EXISTS`,
  index: 'INSERT INTO invites_by_guild (guild_id, code) VALUES (?, ?) USING TTL ?',
  delete: 'DELETE FROM invites WHERE code = ? IF EXISTS',
  unindex: 'DELETE FROM invites_by_guild WHERE guild_id = ? AND code = ?',
  present: 'guild_id',
  /** Seconds the invite's rows live (0 = no TTL); a later write of the row must carry the same. */
  ttl: (expiresAt: number | null): number =>
    expiresAt === null ? 0 : Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000)) + INVITE_TTL_GRACE_S,
  claimParams: (i: InviteRecord, ttl: number): unknown[] => [
    i.code,
    toId(i.guildId),
    toId(i.channelId),
    toId(i.inviterId),
    i.maxAge,
    i.maxUses,
    i.uses,
    toTime(i.createdAt),
    i.expiresAt === null ? undefined : toTime(i.expiresAt),
    ttl,
  ],
  toRecord: (row: Row): InviteRecord => ({
    code: row.get('code') as string,
    guildId: fromId(row.get('guild_id')),
    channelId: fromId(row.get('channel_id')),
    inviterId: fromId(row.get('inviter_id')),
    maxAge: int(row, 'max_age'),
    maxUses: int(row, 'max_uses'),
    uses: int(row, 'uses'),
    createdAt: fromTime(row.get('created_at')),
    expiresAt: fromTimeOrNull(row.get('expires_at')),
  }),
};

// --- notification settings (user guild settings) ---------------------------------------------------

const GUILD_SETTINGS_COLUMNS =
  'user_id, guild_id, message_notifications, muted, mute_end_time, suppress_everyone, suppress_roles, channel_overrides, updated_at';

export const GUILD_SETTINGS = {
  columns: GUILD_SETTINGS_COLUMNS,
  insert: insertInto('user_guild_settings', GUILD_SETTINGS_COLUMNS),
  delete: 'DELETE FROM user_guild_settings WHERE user_id = ? AND guild_id = ?',
  present: 'updated_at',
  // Every column is always written (0 for "no end time"), so a replaced row never keeps an old cell.
  params: (s: GuildSettingsRecord): unknown[] => [
    toId(s.userId),
    toId(s.guildId),
    s.messageNotifications,
    s.muted,
    BigInt(s.muteEndTime ?? 0),
    s.suppressEveryone,
    s.suppressRoles,
    encodeOverrides(s.channelOverrides),
    toTime(s.updatedAt),
  ],
  toRecord: (row: Row): GuildSettingsRecord => ({
    userId: fromId(row.get('user_id')),
    guildId: fromId(row.get('guild_id')),
    messageNotifications: int(row, 'message_notifications') as NotificationLevel,
    muted: row.get('muted') === true,
    muteEndTime: Number(row.get('mute_end_time') ?? 0) || null,
    suppressEveryone: row.get('suppress_everyone') === true,
    suppressRoles: row.get('suppress_roles') === true,
    channelOverrides: decodeOverrides(str(row, 'channel_overrides')),
    updatedAt: fromTime(row.get('updated_at')),
  }),
};

// --- web push subscriptions and instance secrets (migration 0030) ------------------------------

const PUSH_SUBSCRIPTION_COLUMNS = 'user_id, endpoint_id, endpoint, p256dh, auth, created_at';

export const PUSH_SUBSCRIPTIONS = {
  columns: PUSH_SUBSCRIPTION_COLUMNS,
  insert: insertInto('push_subscriptions', PUSH_SUBSCRIPTION_COLUMNS),
  delete: 'DELETE FROM push_subscriptions WHERE user_id = ? AND endpoint_id = ?',
  present: 'endpoint',
  params: (p: PushSubscriptionRecord): unknown[] => [
    toId(p.userId),
    p.endpointId,
    p.endpoint,
    p.p256dh,
    p.auth,
    toTime(p.createdAt),
  ],
  toRecord: (row: Row): PushSubscriptionRecord => ({
    userId: fromId(row.get('user_id')),
    endpointId: str(row, 'endpoint_id'),
    endpoint: str(row, 'endpoint'),
    p256dh: str(row, 'p256dh'),
    auth: str(row, 'auth'),
    createdAt: fromTime(row.get('created_at')),
  }),
};

const INSTANCE_SECRET_COLUMNS = 'name, value, created_at';

export const INSTANCE_SECRETS = {
  columns: INSTANCE_SECRET_COLUMNS,
  insert: insertInto('instance_secrets', INSTANCE_SECRET_COLUMNS),
  delete: 'DELETE FROM instance_secrets WHERE name = ?',
  present: 'value',
  params: (i: InstanceSecretRecord): unknown[] => [i.name, i.value, toTime(i.createdAt)],
  toRecord: (row: Row): InstanceSecretRecord => ({
    name: str(row, 'name'),
    value: str(row, 'value'),
    createdAt: fromTime(row.get('created_at')),
  }),
};

const NOTIFICATION_PREFS_COLUMNS = 'user_id, email_enabled, updated_at';

export const NOTIFICATION_PREFS = {
  columns: NOTIFICATION_PREFS_COLUMNS,
  insert: insertInto('notification_preferences', NOTIFICATION_PREFS_COLUMNS),
  delete: 'DELETE FROM notification_preferences WHERE user_id = ?',
  present: 'updated_at',
  params: (p: NotificationPrefsRecord): unknown[] => [toId(p.userId), p.emailEnabled, toTime(p.updatedAt)],
  toRecord: (row: Row): NotificationPrefsRecord => ({
    userId: fromId(row.get('user_id')),
    emailEnabled: row.get('email_enabled') !== false,
    updatedAt: fromTime(row.get('updated_at')),
  }),
};

// --- bans ----------------------------------------------------------------------------------------

const BAN_COLUMNS = 'guild_id, user_id, reason, created_at';

/** A guild's bans in USER_SHARDS partitions, `((guild_id, shard), user_id)` (migration 0046). */
export const BANS = {
  columns: BAN_COLUMNS,
  insert: 'INSERT INTO bans_by_shard (guild_id, shard, user_id, reason, created_at) VALUES (?, ?, ?, ?, ?)',
  delete: 'DELETE FROM bans_by_shard WHERE guild_id = ? AND shard = ? AND user_id = ?',
  deleteShard: 'DELETE FROM bans_by_shard WHERE guild_id = ? AND shard = ?',
  present: 'created_at',
  /** Where one ban lives: guild, shard, user. */
  key: (guildId: string, userId: string): [bigint, number, bigint] => {
    const user = toId(userId);
    return [toId(guildId), shardOf(user), user];
  },
  // No reason is stored as '' (not null): a replaced ban loses its old reason without a tombstone.
  params: (b: BanRecord): unknown[] => [
    ...BANS.key(b.guildId, b.userId),
    b.reason ?? '',
    toTime(b.createdAt),
  ],
  toRecord: (row: Row): BanRecord => ({
    guildId: fromId(row.get('guild_id')),
    userId: fromId(row.get('user_id')),
    reason: strOrNull(row, 'reason') || null,
    createdAt: fromTime(row.get('created_at')),
  }),
};

// --- custom emoji: one small partition per guild ----------------------------------------------------

const EMOJI_COLUMNS = 'guild_id, id, name, roles, user_id, animated';

export const EMOJIS = {
  columns: EMOJI_COLUMNS,
  insert: insertInto('guild_emojis', EMOJI_COLUMNS),
  delete: 'DELETE FROM guild_emojis WHERE guild_id = ? AND id = ?',
  // Written only by insert: an update racing a delete leaves a row without it, which reads as absent.
  present: 'animated',
  // An empty role list is stored as an empty frozen list (a value, not a tombstone); no uploader is unset.
  params: (e: EmojiRecord): unknown[] => [
    toId(e.guildId),
    toId(e.id),
    e.name,
    e.roles.map(toId),
    e.userId === null ? undefined : toId(e.userId),
    e.animated,
  ],
  toRecord: (row: Row): EmojiRecord => ({
    guildId: fromId(row.get('guild_id')),
    id: fromId(row.get('id')),
    name: str(row, 'name'),
    roles: fromIds(row.get('roles')),
    userId: fromIdOrNull(row.get('user_id')),
    animated: row.get('animated') === true,
  }),
};
// --- webhooks, and each guild's webhook ids ------------------------------------------------------------

const WEBHOOK_COLUMNS = 'id, guild_id, channel_id, creator_id, name, avatar, secret';

export const WEBHOOKS = {
  columns: WEBHOOK_COLUMNS,
  insert: insertInto('webhooks', WEBHOOK_COLUMNS),
  index: 'INSERT INTO webhooks_by_guild (guild_id, id) VALUES (?, ?)',
  delete: 'DELETE FROM webhooks WHERE id = ?',
  unindex: 'DELETE FROM webhooks_by_guild WHERE guild_id = ? AND id = ?',
  /** An UPDATE racing a delete leaves a row without its token: such a row is no webhook. */
  present: 'secret',
  params: (w: WebhookRecord, absent: Absent): unknown[] => [
    toId(w.id),
    toId(w.guildId),
    toId(w.channelId),
    w.creatorId === null ? absent : toId(w.creatorId),
    w.name,
    opt(w.avatar, absent),
    w.token,
  ],
  toRecord: (row: Row): WebhookRecord => ({
    id: fromId(row.get('id')),
    guildId: fromId(row.get('guild_id')),
    channelId: fromId(row.get('channel_id')),
    creatorId: fromIdOrNull(row.get('creator_id')),
    name: str(row, 'name'),
    avatar: strOrNull(row, 'avatar'),
    token: str(row, 'secret'),
  }),
};

// --- audit log entries, in time windows per guild -------------------------------------------------

const AUDIT_LOG_COLUMNS =
  'guild_id, time_window, id, user_id, target_id, action_type, changes, reason, options, expires_at';
/** One partition per guild and 7 days of entry ids (the TimeWindowCompactionStrategy window of the table). */
const AUDIT_LOG_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

export const AUDIT_LOG = {
  columns: AUDIT_LOG_COLUMNS,
  /** Every row expires on its own (`expires_at`), so a window's partition disappears once all its rows have. */
  insert: `${insertInto('audit_log_entries', AUDIT_LOG_COLUMNS)} USING TTL ?`,
  delete: 'DELETE FROM audit_log_entries WHERE guild_id = ? AND time_window = ? AND id = ?',
  present: 'action_type',
  windowAt: (ms: number): number => Math.floor(ms / AUDIT_LOG_WINDOW_MS),
  windowOf: (id: string): number => AUDIT_LOG.windowAt(snowflakeTime(id)),
  /** Seconds left to live at `now`; 0 or less: the entry has expired and is not written. */
  ttlAt: (e: AuditLogEntryRecord, now: number): number => Math.ceil((e.expiresAt - now) / 1000),
  params: (e: AuditLogEntryRecord, ttl: number): unknown[] => [
    toId(e.guildId),
    AUDIT_LOG.windowOf(e.id),
    toId(e.id),
    e.userId === null ? undefined : toId(e.userId),
    e.targetId === null ? undefined : toId(e.targetId),
    e.actionType,
    e.changes,
    opt(e.reason, undefined),
    opt(e.options, undefined),
    toTime(e.expiresAt),
    ttl,
  ],
  toRecord: (row: Row): AuditLogEntryRecord => ({
    guildId: fromId(row.get('guild_id')),
    id: fromId(row.get('id')),
    userId: fromIdOrNull(row.get('user_id')),
    targetId: fromIdOrNull(row.get('target_id')),
    actionType: row.get('action_type') as number,
    changes: str(row, 'changes'),
    reason: strOrNull(row, 'reason'),
    options: strOrNull(row, 'options'),
    expiresAt: fromTime(row.get('expires_at')),
  }),
};

// --- AutoMod rules, relationships, privacy, reports (issue 20) -----------------------------------

const AUTOMOD_RULE_COLUMNS = 'guild_id, id, creator_id, rule';

export const AUTOMOD_RULES = {
  columns: AUTOMOD_RULE_COLUMNS,
  insert: insertInto('automod_rules', AUTOMOD_RULE_COLUMNS),
  delete: 'DELETE FROM automod_rules WHERE guild_id = ? AND id = ?',
  present: 'rule',
  params: (r: AutoModRuleRecord): unknown[] => [toId(r.guildId), toId(r.id), toId(r.creatorId), r.rule],
  toRecord: (row: Row): AutoModRuleRecord => ({
    guildId: fromId(row.get('guild_id')),
    id: fromId(row.get('id')),
    creatorId: fromId(row.get('creator_id')),
    rule: str(row, 'rule'),
  }),
};

const RELATIONSHIP_COLUMNS = 'user_id, target_id, type, created_at';

export const RELATIONSHIPS = {
  columns: RELATIONSHIP_COLUMNS,
  insert: insertInto('relationships', RELATIONSHIP_COLUMNS),
  delete: 'DELETE FROM relationships WHERE user_id = ? AND target_id = ?',
  present: 'type',
  params: (r: RelationshipRecord): unknown[] => [
    toId(r.userId),
    toId(r.targetId),
    r.type,
    toTime(r.createdAt),
  ],
  toRecord: (row: Row): RelationshipRecord => ({
    userId: fromId(row.get('user_id')),
    targetId: fromId(row.get('target_id')),
    type: row.get('type') as RelationshipType,
    createdAt: fromTime(row.get('created_at')),
  }),
};

const USER_PRIVACY_COLUMNS = 'user_id, dm_policy, updated_at';

export const USER_PRIVACY = {
  columns: USER_PRIVACY_COLUMNS,
  insert: insertInto('user_privacy', USER_PRIVACY_COLUMNS),
  delete: 'DELETE FROM user_privacy WHERE user_id = ?',
  present: 'dm_policy',
  params: (p: UserPrivacyRecord): unknown[] => [toId(p.userId), p.dmPolicy, toTime(p.updatedAt)],
  toRecord: (row: Row): UserPrivacyRecord => ({
    userId: fromId(row.get('user_id')),
    dmPolicy: row.get('dm_policy') as DmPolicy,
    updatedAt: fromTime(row.get('updated_at')),
  }),
};

const REPORT_COLUMNS =
  'scope, time_window, id, reporter_id, reason, guild_id, channel_id, message_id, target_user_id';
/** One partition per scope and 90 days of report ids. */
const REPORT_WINDOW_MS = 90 * 24 * 60 * 60 * 1000;
/** The scope every report is written to (instance admins' list); a guild's reports are also under its id. */
const ALL_REPORTS = 0n;

export const REPORTS = {
  columns: REPORT_COLUMNS,
  insert: insertInto('reports', REPORT_COLUMNS),
  delete: 'DELETE FROM reports WHERE scope = ? AND time_window = ? AND id = ?',
  present: 'reporter_id',
  all: ALL_REPORTS,
  windowAt: (ms: number): number => Math.floor(ms / REPORT_WINDOW_MS),
  windowOf: (id: string): number => REPORTS.windowAt(snowflakeTime(id)),
  /** The partitions a report is written to: every report's, and its guild's. */
  scopesOf: (r: ReportRecord): bigint[] =>
    r.guildId === null ? [ALL_REPORTS] : [ALL_REPORTS, toId(r.guildId)],
  params: (r: ReportRecord, scope: bigint): unknown[] => [
    scope,
    REPORTS.windowOf(r.id),
    toId(r.id),
    toId(r.reporterId),
    r.reason,
    r.guildId === null ? undefined : toId(r.guildId),
    r.channelId === null ? undefined : toId(r.channelId),
    r.messageId === null ? undefined : toId(r.messageId),
    r.targetUserId === null ? undefined : toId(r.targetUserId),
  ],
  toRecord: (row: Row): ReportRecord => ({
    id: fromId(row.get('id')),
    reporterId: fromId(row.get('reporter_id')),
    reason: str(row, 'reason'),
    guildId: fromIdOrNull(row.get('guild_id')),
    channelId: fromIdOrNull(row.get('channel_id')),
    messageId: fromIdOrNull(row.get('message_id')),
    targetUserId: fromIdOrNull(row.get('target_user_id')),
  }),
};
// --- the instance audit log, in 30-day windows --------------------------------------------------------

const INSTANCE_AUDIT_COLUMNS =
  'time_window, id, actor_id, action, target_type, target_id, reason, expires_at';
const INSTANCE_AUDIT_WINDOW_MS = 30 * 24 * 60 * 60 * 1000;

export const INSTANCE_AUDIT_LOG = {
  columns: INSTANCE_AUDIT_COLUMNS,
  insert: `${insertInto('instance_audit_log', INSTANCE_AUDIT_COLUMNS)} USING TTL ?`,
  delete: 'DELETE FROM instance_audit_log WHERE time_window = ? AND id = ?',
  present: 'action',
  windowAt: (ms: number): number => Math.floor(ms / INSTANCE_AUDIT_WINDOW_MS),
  windowOf: (id: string): number => INSTANCE_AUDIT_LOG.windowAt(snowflakeTime(id)),
  ttlAt: (e: InstanceAuditEntryRecord, now: number): number => Math.ceil((e.expiresAt - now) / 1000),
  params: (e: InstanceAuditEntryRecord, ttl: number): unknown[] => [
    INSTANCE_AUDIT_LOG.windowOf(e.id),
    toId(e.id),
    toId(e.actorId),
    e.action,
    e.targetType,
    e.targetId,
    opt(e.reason, undefined),
    toTime(e.expiresAt),
    ttl,
  ],
  toRecord: (row: Row): InstanceAuditEntryRecord => ({
    id: fromId(row.get('id')),
    actorId: fromId(row.get('actor_id')),
    action: str(row, 'action'),
    targetType: str(row, 'target_type') as InstanceAuditEntryRecord['targetType'],
    targetId: str(row, 'target_id'),
    reason: strOrNull(row, 'reason'),
    expiresAt: fromTime(row.get('expires_at')),
  }),
};

// --- attachments, by id and by channel --------------------------------------------------------------

const ATTACHMENT_COLUMNS =
  'id, channel_id, uploader_id, message_id, filename, size, content_type, width, height, created_at';

export const ATTACHMENTS = {
  columns: ATTACHMENT_COLUMNS,
  insert: insertInto('attachments', ATTACHMENT_COLUMNS),
  /** The upload path: only a new row counts toward its uploader's usage (a retry applies nothing). */
  insertIfAbsent: `${insertInto('attachments', ATTACHMENT_COLUMNS)} IF NOT EXISTS`,
  /** A removal that says whether it removed a row, so its size comes off the usage once. */
  deleteIfExists: 'DELETE FROM attachments WHERE id = ? IF EXISTS',
  /** The by-channel index (migration 0046): `((channel_id, bucket), id)`, bucket = bucketOf(id). */
  index: 'INSERT INTO attachments_by_channel_bucket (channel_id, bucket, id) VALUES (?, ?, ?)',
  /** Marks a bucket of the channel as holding attachments (idempotent, no read). */
  markBucket: 'INSERT INTO attachment_buckets (channel_id, bucket) VALUES (?, ?)',
  delete: 'DELETE FROM attachments WHERE id = ?',
  unindex: 'DELETE FROM attachments_by_channel_bucket WHERE channel_id = ? AND bucket = ? AND id = ?',
  /** Index parameters (for `index` and `unindex`) of attachment `id` in `channel`. */
  indexKey: (channel: bigint, id: bigint): unknown[] => [channel, bucketOf(id.toString()), id],
  present: 'channel_id',
  /** The row and its by-channel index entry, for one logged batch. */
  writes(a: AttachmentRecord, absent: Absent): Statement[] {
    const id = toId(a.id);
    const channel = toId(a.channelId);
    return [
      {
        query: ATTACHMENTS.insert,
        params: [
          id,
          channel,
          toId(a.uploaderId),
          a.messageId === null ? absent : toId(a.messageId),
          a.filename,
          BigInt(a.size),
          a.contentType,
          opt(a.width, absent),
          opt(a.height, absent),
          toTime(a.createdAt),
        ],
      },
      { query: ATTACHMENTS.markBucket, params: [channel, bucketOf(a.id)] },
      { query: ATTACHMENTS.index, params: ATTACHMENTS.indexKey(channel, id) },
    ];
  },
  removes: (id: bigint, channel: bigint | null): Statement[] => [
    { query: ATTACHMENTS.delete, params: [id] },
    ...(channel === null ? [] : [{ query: ATTACHMENTS.unindex, params: ATTACHMENTS.indexKey(channel, id) }]),
  ],
  toRecord: (row: Row): AttachmentRecord => ({
    id: fromId(row.get('id')),
    channelId: fromId(row.get('channel_id')),
    uploaderId: fromId(row.get('uploader_id')),
    messageId: fromIdOrNull(row.get('message_id')),
    filename: row.get('filename') as string,
    size: Number(row.get('size') as bigint),
    contentType: row.get('content_type') as string,
    width: (row.get('width') as number | null) ?? null,
    height: (row.get('height') as number | null) ?? null,
    createdAt: fromTime(row.get('created_at')),
  }),
};

// --- upload usage: bytes of attachments per uploader (derived, a counter, migration 0007) ----------------

/** The unclaimed-upload sweep's markers (migration 0047): the hour is the upload id's time (Unix hours). */
export const UPLOAD_MARK = {
  mark: 'INSERT INTO uploads_by_hour (hour, attachment_id) VALUES (?, ?)',
  unmark: 'DELETE FROM uploads_by_hour WHERE hour = ? AND attachment_id = ?',
  hourOf: (id: string): number => Math.floor(snowflakeTime(id) / 3_600_000),
  params: (id: string): unknown[] => [UPLOAD_MARK.hourOf(id), BigInt(id)],
};

export const UPLOAD_USAGE = {
  read: 'SELECT bytes FROM upload_usage WHERE user_id = ?',
  /** Counter delta (negative to take bytes off); not idempotent, so never retried blindly. */
  add: 'UPDATE upload_usage SET bytes = bytes + ? WHERE user_id = ?',
  scan: 'SELECT user_id, bytes FROM upload_usage',
};

// --- jobs: a 'pending' and a 'dead' partition ----------------------------------------------------------

/**
 * The partition of a job row: 'dead', 'pending' (jobs queued before migration 0047 and by `parley import`), or
 * 'pending:<minute>' (the minute the job was queued in, counted from the Unix epoch: see job.store.ts).
 */
export type JobState = 'pending' | 'dead' | `pending:${number}`;
const JOB_COLUMNS = 'state, id, name, payload, attempts, run_at, last_error';
/** A queued job's row lives two weeks at most (a job retried that long has failed for good). */
export const JOB_TTL_SECONDS = 14 * 24 * 60 * 60;

export const JOBS = {
  /** The record's columns (without the state, which is the partition). */
  columns: JOB_COLUMNS.replace('state, ', ''),
  insert: insertInto('jobs', JOB_COLUMNS),
  /** A queued job: into its minute's partition, with a TTL. */
  enqueue: `${insertInto('jobs', JOB_COLUMNS)} USING TTL ${JOB_TTL_SECONDS}`,
  delete: 'DELETE FROM jobs WHERE state = ? AND id = ?',
  present: 'name',
  params: (state: JobState, j: JobRecord, absent: Absent): unknown[] => [
    state,
    j.id,
    j.name,
    j.payload,
    j.attempts,
    toTime(j.runAt),
    opt(j.lastError, absent),
  ],
  toRecord: (row: Row): JobRecord => ({
    id: row.get('id') as string,
    name: row.get('name') as string,
    payload: row.get('payload') as string,
    attempts: int(row, 'attempts'),
    runAt: fromTime(row.get('run_at')),
    lastError: strOrNull(row, 'last_error'),
  }),
};

// --- search postings: each message's search entry in its guild's 10-day bucket (derived, migrations 0010, 0048) ----

const POSTING_COLUMNS =
  'scope_id, bucket, message_id, channel_id, author_id, terms, tokens, has_link, mentions, has_file, has_image';

/**
 * One row per message in `((scope_id, bucket), message_id DESC)`: scope = the guild (a DM: its channel),
 * bucket = 10 days (search-terms.ts). `terms` (SAI; words, prefixes, word pairs, the channel) is what a query matches; the other columns let the driver decide the whole
 * match (phrases in order, long prefixes, authors, mentions, has) from the posting, so only the page's
 * messages are read. Derived from `messages`: never exported, rebuilt by every write path.
 */
export const MESSAGE_SEARCH = {
  /** What a search reads of a posting: the key and channel always, the rest only when its filter needs it. */
  columns: (need: { tokens: boolean; author: boolean; mentions: boolean; has: boolean }): string =>
    [
      'message_id, channel_id',
      need.tokens ? ', tokens' : '',
      need.author ? ', author_id' : '',
      need.mentions ? ', mentions' : '',
      need.has ? ', has_link, has_file, has_image' : '',
    ].join(''),
  insert: insertInto('message_search', POSTING_COLUMNS),
  /**
   * The send's posting, written after the send has answered (search-postings.ts) at the message's snowflake
   * time: an edit's UPDATE or a delete (written at their own, later time) wins over it whichever lands first.
   */
  insertAtSend: `${insertInto('message_search', POSTING_COLUMNS)} USING TIMESTAMP ?`,
  /** The write timestamp of a send's posting: the snowflake's time in microseconds. */
  sendTimestamp: (messageId: string): bigint => BigInt(snowflakeTime(messageId)) * 1000n,
  delete: 'DELETE FROM message_search WHERE scope_id = ? AND bucket = ? AND message_id = ?',
  /** An edit: the content-derived columns, and the mentions when they changed. */
  edit: (mentions: boolean): string =>
    `UPDATE message_search SET terms = ?, tokens = ?, has_link = ?${mentions ? ', mentions = ?' : ''}
      WHERE scope_id = ? AND bucket = ? AND message_id = ?`,
  markBucket: 'INSERT INTO message_search_buckets (scope_id, bucket) VALUES (?, ?)',
  buckets: 'SELECT bucket FROM message_search_buckets WHERE scope_id = ?',
  /** An UPDATE (edit) racing a delete leaves a row without its channel: not a posting. */
  present: 'channel_id',
  scopeOf: (m: Pick<MessageRecord, 'guildId' | 'channelId'>): bigint => toId(m.guildId ?? m.channelId),
  /** The content-derived values: terms (with the channel's entry), tokens, has_link. */
  ofContent: (content: string, channelId: string, absent: Absent): unknown[] => {
    const tokens = searchTokens(content);
    return [
      searchTermsOf(tokens, channelId),
      tokens.length === 0 ? absent : tokens.join(' '),
      SEARCH_LINK.test(content),
    ];
  },
  params: (m: MessageRecord, absent: Absent): unknown[] => [
    MESSAGE_SEARCH.scopeOf(m),
    searchBucketOf(m.id),
    toId(m.id),
    toId(m.channelId),
    toId(m.authorId),
    ...MESSAGE_SEARCH.ofContent(m.content, m.channelId, absent),
    m.mentions.length === 0 ? absent : m.mentions.map(toId),
    m.attachments.length > 0,
    m.attachments.some((a) => a.contentType.startsWith('image/')),
  ],
};
