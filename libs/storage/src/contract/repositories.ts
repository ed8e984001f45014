import type {
  AccountTokenRecord,
  LinkPreviewRecord,
  AttachmentRecord,
  AuditLogEntryRecord,
  AutoModRuleRecord,
  RelationshipRecord,
  ReportRecord,
  UserPrivacyRecord,
  BanRecord,
  ChannelRecord,
  GuildRecord,
  InviteRecord,
  JobRecord,
  MemberRecord,
  MessagePatch,
  MessageRecord,
  OverwriteRecord,
  PinRecord,
  EmojiPatch,
  EmojiRecord,
  ReactionCount,
  ReadStateRecord,
  GuildSettingsRecord,
  InstanceSecretRecord,
  NotificationPrefsRecord,
  PushSubscriptionRecord,
  InstanceAuditEntryRecord,
  RoleRecord,
  TokenRecord,
  UserIdentityRecord,
  UserRecord,
  WebhookPatch,
  WebhookRecord,
  DataExportRecord,
} from './records';
import type { MessageSearchRepository } from './search';

/** Thrown by a driver when a uniqueness claim (username, email, DM pair) is already held. */
export class UniqueViolation extends Error {
  constructor(readonly field: 'username' | 'email' | 'dm_pair' | 'invite_code') {
    super(`${field} already taken`);
    this.name = 'UniqueViolation';
  }
}

export interface Page {
  limit: number;
  /** Exclusive lower bound on the id (ascending pages). */
  after?: string;
}

/**
 * A page of a guild's bans in user id order (Discord's `GET /guilds/:id/bans`): with `before`, the `limit` users
 * just below it (it wins over `after`, as on Discord), otherwise those just above `after`; answered ascending.
 */
export interface BanPage extends Page {
  /** Exclusive upper bound on the user id. */
  before?: string;
}

/** A page of a user's DM channels, newest channel first. */
export interface DmPage {
  limit: number;
  /** Exclusive upper bound on the channel id. */
  before?: string;
}

export interface UserRepository {
  /** Claims username (case-insensitively) and email, then stores; throws UniqueViolation. */
  create(user: UserRecord): Promise<void>;
  findById(id: string): Promise<UserRecord | null>;
  findByIds(ids: readonly string[]): Promise<UserRecord[]>;
  findByLogin(usernameOrEmail: string): Promise<UserRecord | null>;
  /** The bot users whose applications `ownerId` owns (`botOwnerId`), in id order (an index, never a scan). */
  listBots(ownerId: string): Promise<UserRecord[]>;
  /**
   * Sets (secret and codes) or clears (null, []) two-factor authentication, only when the stored secret is still
   * `expected`; answers whether it did (false: a concurrent enable or disable got there first).
   */
  setMfa(id: string, expected: string | null, secret: string | null, backupCodes: string[]): Promise<boolean>;
  /**
   * Replaces the backup code hashes only when they are still `expected` (the list read), so of two concurrent
   * uses of one code exactly one succeeds; answers whether it did.
   */
  replaceBackupCodes(id: string, expected: string[], next: string[]): Promise<boolean>;
  /** Changes profile fields; a username change re-claims uniqueness (throws UniqueViolation). */
  update(
    id: string,
    patch: Partial<
      Pick<
        UserRecord,
        'username' | 'displayName' | 'avatar' | 'email' | 'passwordHash' | 'appFlags' | 'emailVerified'
      >
    >,
  ): Promise<void>;
  /** Sets or clears the instance flags (admin, disabled, waiting for approval); absent ones stay. */
  setFlags(
    id: string,
    flags: Partial<Pick<UserRecord, 'admin' | 'disabled' | 'approvalPending'>>,
  ): Promise<void>;
  /**
   * The admin search: accounts whose username or email starts with `prefix` (case-insensitive; '' = all).
   * Pass the returned cursor back for the next page; null once the search is complete. A page may hold fewer
   * than `limit` accounts, even none, while the cursor is not null (a driver that filters as it scans).
   */
  search(
    prefix: string,
    page: { limit: number; cursor: string | null },
  ): Promise<{ users: UserRecord[]; cursor: string | null }>;
  /** Accounts waiting for approval, newest first, below `before` (exclusive id). */
  listPendingApproval(page: { limit: number; before?: string }): Promise<UserRecord[]>;
  /** Up to `limit` account ids, whichever are cheapest to find (is this instance new?). */
  sampleIds(limit: number): Promise<string[]>;
  /** Deletes the account and gives back its username and email (tokens and memberships go separately). */
  delete(id: string): Promise<void>;
}

/** Which instance audit log entries a page holds: newest first, below `before` (exclusive id). */
export interface InstanceAuditQuery {
  limit: number;
  before?: string;
  /** The clock (epoch ms): entries expired by then are not served. */
  now: number;
  /** Epoch ms no kept entry predates (now less the retention): where a driver that walks time stops. */
  oldest: number;
}

/** Every action of an instance administrator. */
export interface InstanceAuditLogRepository {
  /** Appends one entry, kept until its `expiresAt` (an entry already expired is not written). */
  append(entry: InstanceAuditEntryRecord): Promise<void>;
  list(query: InstanceAuditQuery): Promise<InstanceAuditEntryRecord[]>;
}

/** One instance counter: `users`, `guilds`, `messages` with bucket `all`, or `messages` per UTC day. */
export interface CounterKey {
  name: string;
  bucket: string;
}

/** The counters behind GET /admin/stats: added to as things come and go, read a few rows at a time. */
export interface InstanceCounterRepository {
  add(deltas: readonly (CounterKey & { delta: number })[]): Promise<void>;
  /** The values of `keys`, in their order (0 for a counter never added to). */
  get(keys: readonly CounterKey[]): Promise<number[]>;
}

export interface TokenRepository {
  create(token: TokenRecord): Promise<void>;
  findByHash(tokenHash: string): Promise<TokenRecord | null>;
  delete(tokenHash: string): Promise<void>;
  /** Deletes every token of the user but `exceptHash`, in bounded chunks; answers the deleted hashes. */
  deleteAllForUser(userId: string, exceptHash?: string): Promise<string[]>;
  /** The user's live tokens (sessions), oldest first. */
  listForUser(userId: string): Promise<TokenRecord[]>;
  /** Moves a token's expiry (sliding lifetime); a token deleted meanwhile stays deleted. */
  extend(token: TokenRecord): Promise<void>;
}

/** Single-use mailed tokens (email verification, password reset). */
export interface AccountTokenRepository {
  create(token: AccountTokenRecord): Promise<void>;
  /**
   * Deletes the token and answers it, atomically: of two concurrent uses exactly one gets the record. Answers
   * null for a token that is unknown, already used, or expired (an expired one is deleted too).
   */
  consume(tokenHash: string): Promise<AccountTokenRecord | null>;
}

/** The link-preview cache (unfurled URLs): rows live until their expiry, then read as absent. */
export interface LinkPreviewRepository {
  /** The preview of this exact URL, or null when none is stored or it has expired. */
  find(url: string): Promise<LinkPreviewRecord | null>;
  /** Stores (replaces) the preview of its URL. */
  put(preview: LinkPreviewRecord): Promise<void>;
}
/** Single sign-on identities (OpenID Connect) and the accounts they log in to. */
export interface UserIdentityRepository {
  /**
   * Links the identity to its account, atomically: false when the identity is already linked (to any account),
   * so of two concurrent links exactly one succeeds.
   */
  link(identity: UserIdentityRecord): Promise<boolean>;
  find(provider: string, subject: string): Promise<UserIdentityRecord | null>;
  /** The account's identities (a few at most), by provider and subject. */
  listForUser(userId: string): Promise<UserIdentityRecord[]>;
  /** Unlinks every identity of the account (its deletion). */
  deleteForUser(userId: string): Promise<void>;
}

/** Each account's latest personal data export (transient: not carried by bulk copies). */
export interface DataExportRepository {
  /** Replaces the account's row. */
  put(record: DataExportRecord): Promise<void>;
  find(userId: string): Promise<DataExportRecord | null>;
  delete(userId: string): Promise<void>;
}

export interface GuildRepository {
  /** Writes the guild, its @everyone role, its first channels and the owner's membership together. */
  createWithDefaults(
    guild: GuildRecord,
    everyone: RoleRecord,
    channels: ChannelRecord[],
    owner: MemberRecord,
  ): Promise<void>;
  findById(id: string): Promise<GuildRecord | null>;
  findByIds(ids: readonly string[]): Promise<GuildRecord[]>;
  update(
    id: string,
    patch: Partial<Pick<GuildRecord, 'name' | 'icon' | 'ownerId' | 'defaultMessageNotifications'>>,
  ): Promise<void>;
  /**
   * Removes the guild's own row only: from then on the guild is gone for every reader (lookups, READY,
   * permission checks). The request's part of a guild delete; the rest goes by `delete` in the purge job.
   */
  removeRecord(id: string): Promise<void>;
  /**
   * Removes the guild row, roles, channels, overwrites, members (and their guild lists), invites, bans,
   * emoji and webhooks, in bounded pieces; idempotent, so a purge job killed mid-way reruns it. Messages
   * go by `MessageRepository.purgeChannelStep`.
   */
  delete(id: string): Promise<void>;
  /**
   * The admin listing: guilds whose name starts with `prefix` (case-insensitive; '' = all), paged like
   * `UserRepository.search` (a page may be short, even empty, while the cursor is not null).
   */
  search(
    prefix: string,
    page: { limit: number; cursor: string | null },
  ): Promise<{ guilds: GuildRecord[]; cursor: string | null }>;
}

export interface MemberRepository {
  add(member: MemberRecord): Promise<void>;
  find(guildId: string, userId: string): Promise<MemberRecord | null>;
  /** The members among `userIds` (any order; non-members left out): one round trip, for small sets (mentions). */
  findMany(guildId: string, userIds: readonly string[]): Promise<MemberRecord[]>;
  /** Ascending by user id. */
  list(guildId: string, page: Page): Promise<MemberRecord[]>;
  /**
   * Up to `limit` members in no promised order, in one round trip (READY's presences: who they are matters,
   * not which come first). Every member when the guild has no more than `limit`.
   */
  sample(guildId: string, limit: number): Promise<MemberRecord[]>;
  listGuildIds(userId: string): Promise<string[]>;
  update(
    guildId: string,
    userId: string,
    patch: Partial<Pick<MemberRecord, 'nick' | 'roles' | 'communicationDisabledUntil'>>,
  ): Promise<void>;
  remove(guildId: string, userId: string): Promise<void>;
  count(guildId: string): Promise<number>;
}

export interface RoleRepository {
  create(role: RoleRecord): Promise<void>;
  find(guildId: string, roleId: string): Promise<RoleRecord | null>;
  list(guildId: string): Promise<RoleRecord[]>;
  update(
    guildId: string,
    roleId: string,
    patch: Partial<Pick<RoleRecord, 'name' | 'permissions' | 'color' | 'position' | 'mentionable'>>,
  ): Promise<void>;
  /**
   * Removes the role and its channel overwrites (the request's part). Members may still list its id until
   * `removeFromMembers` has run: a role id with no role grants nothing.
   */
  delete(guildId: string, roleId: string): Promise<void>;
  /**
   * Takes a deleted role's id off every member holding it (the purge job's part), reading the role's holders
   * from the driver's members-by-role index a bounded page at a time, never the guild's members; idempotent,
   * so a job killed mid-way reruns it.
   */
  removeFromMembers(guildId: string, roleId: string): Promise<void>;
}

export interface ChannelRepository {
  create(channel: ChannelRecord): Promise<void>;
  findById(id: string): Promise<ChannelRecord | null>;
  listByGuild(guildId: string): Promise<ChannelRecord[]>;
  update(
    id: string,
    patch: Partial<Pick<ChannelRecord, 'name' | 'topic' | 'parentId' | 'position' | 'rateLimitPerUser'>>,
  ): Promise<void>;
  delete(id: string): Promise<void>;
  upsertOverwrite(overwrite: OverwriteRecord): Promise<void>;
  deleteOverwrite(channelId: string, id: string): Promise<void>;
}

export interface DmRepository {
  /** Returns the DM channel of this pair, creating `candidate` atomically if none exists. */
  findOrCreate(
    userA: string,
    userB: string,
    candidate: ChannelRecord,
  ): Promise<{ channel: ChannelRecord; created: boolean }>;
  /** The pair's DM channel, if they have one (one claim read; nothing is created). */
  find(userA: string, userB: string): Promise<ChannelRecord | null>;
  /** One page of the user's DM channels, newest first (the user's whole list is never read at once). */
  listForUser(userId: string, page: DmPage): Promise<ChannelRecord[]>;
}

export interface MessageRepository {
  /**
   * Idempotent upsert by id; never reads first. `jobs`: durable jobs that follow the message (its link previews,
   * mention counts, notifications), stored with it: on SQLite in the message's own (group-committed) transaction,
   * both or neither; on Cassandra written alongside it (one round trip, no atomicity: a job whose message was not
   * stored finds no message and does nothing).
   */
  create(message: MessageRecord, jobs?: readonly JobRecord[]): Promise<void>;
  find(channelId: string, messageId: string): Promise<MessageRecord | null>;
  /** The messages of this channel among `messageIds` (one read, or one per bucket), in no particular order. */
  findMany(channelId: string, messageIds: readonly string[]): Promise<MessageRecord[]>;
  /**
   * `guildId`: the message's guild (null for a DM) when the caller knows it, as every request path does.
   * The Cassandra driver keys its search postings by guild; without it the driver reads the message's guild.
   */
  update(channelId: string, messageId: string, patch: MessagePatch, guildId?: string | null): Promise<void>;
  delete(channelId: string, messageId: string, guildId?: string | null): Promise<void>;
  /** All histories return newest first. */
  listLatest(channelId: string, limit: number): Promise<MessageRecord[]>;
  listBefore(channelId: string, before: string, limit: number): Promise<MessageRecord[]>;
  listAfter(channelId: string, after: string, limit: number): Promise<MessageRecord[]>;
  /** The anchor (if it exists) and about half the limit on each side. */
  listAround(channelId: string, around: string, limit: number): Promise<MessageRecord[]>;
  lastMessageIds(channelIds: readonly string[]): Promise<Map<string, string>>;
  /**
   * One bounded step of a deleted channel's purge (messages with their reactions; the driver picks the
   * unit: SQLite a batch of rows by key range, Cassandra whole bucket partitions, never reading through
   * tombstones). Answers false once nothing is left. Idempotent: a purge killed mid-way resumes by calling
   * it again.
   */
  purgeChannelStep(channelId: string): Promise<boolean>;
  /**
   * Idempotent sends (Discord's `enforce_nonce`): claims `nonce` of `authorId` in `channelId` for `ttlMs`
   * for the message `messageId` about to be written. Answers null when this call holds the claim, else the
   * id of the message whose send claimed it first (atomic: of concurrent claims exactly one gets null).
   */
  claimNonce(
    channelId: string,
    authorId: string,
    nonce: string,
    messageId: string,
    ttlMs: number,
  ): Promise<string | null>;
  /** Gives a claim back (its message could not be written), only while it still names `messageId`. */
  releaseNonce(channelId: string, authorId: string, nonce: string, messageId: string): Promise<void>;
  /**
   * A page of the messages `authorId` wrote, in every channel (guilds, left ones included, and DMs), newest
   * first: below `before` (null: the newest) and not older than `since` (a snowflake no message of the author
   * predates: the account's id). Pass `cursor` back as `before`; null when there is no more. A page may hold
   * fewer than `limit` messages while more remain (an index entry whose message is gone is passed over).
   * Reads only the author's own index, never a channel's history: SQLite the `messages_by_author` index,
   * Cassandra the `messages_by_author` table, one partition per author and 10 days (migration 0043).
   */
  listByAuthor(
    authorId: string,
    page: { before: string | null; since: string; limit: number },
  ): Promise<{ messages: MessageRecord[]; cursor: string | null }>;
  /** Drops what indexes `authorId`'s messages from `since` on (a deleted account's; nothing on SQLite). */
  forgetAuthor(authorId: string, since: string): Promise<void>;
}

export interface PinRepository {
  /** Upsert: pinning a pinned message again moves its pin time. */
  add(pin: PinRecord): Promise<void>;
  remove(channelId: string, messageId: string): Promise<void>;
  /** The channel's pins, newest pin first (a channel holds few: read whole). */
  list(channelId: string): Promise<PinRecord[]>;
  /** Forgets a deleted channel's pins. */
  deleteChannel(channelId: string): Promise<void>;
}

export interface ReactionRepository {
  /** Returns false if the user had already reacted with this emoji. */
  add(channelId: string, messageId: string, emoji: string, userId: string): Promise<boolean>;
  /** Returns false if there was nothing to remove. */
  remove(channelId: string, messageId: string, emoji: string, userId: string): Promise<boolean>;
  /** User ids ascending. */
  listUsers(channelId: string, messageId: string, emoji: string, page: Page): Promise<string[]>;
  counts(channelId: string, messageIds: readonly string[], viewerId: string): Promise<ReactionCount[]>;
  deleteForMessage(channelId: string, messageId: string): Promise<void>;
}

export interface ReadStateRepository {
  /** Sets the read position and clears the mention count. */
  ack(userId: string, channelId: string, messageId: string): Promise<void>;
  incrementMentions(channelId: string, userIds: readonly string[]): Promise<void>;
  list(userId: string): Promise<ReadStateRecord[]>;
}

/** Notification settings per user and guild; a user with none in a guild has the defaults. */
export interface GuildSettingsRepository {
  /** Replaces the row (the service merges a PATCH into what it read). */
  put(settings: GuildSettingsRecord): Promise<void>;
  find(userId: string, guildId: string): Promise<GuildSettingsRecord | null>;
  /** Every guild the user has settings in (bounded by the guilds a user can join). */
  list(userId: string): Promise<GuildSettingsRecord[]>;
  delete(userId: string, guildId: string): Promise<void>;
}

/** Web Push subscriptions per user and device, and the instance's generated secrets (its VAPID keys). */
export interface PushRepository {
  /** Upsert: the same endpoint subscribing again replaces its keys. */
  putSubscription(subscription: PushSubscriptionRecord): Promise<void>;
  /** A user's devices (bounded by the per-user cap the service enforces). */
  listSubscriptions(userId: string): Promise<PushSubscriptionRecord[]>;
  deleteSubscription(userId: string, endpointId: string): Promise<void>;
  getSecret(name: string): Promise<InstanceSecretRecord | null>;
  /** Stores the secret unless one of that name exists; returns the stored one (the first writer's). */
  putSecretIfAbsent(secret: InstanceSecretRecord): Promise<InstanceSecretRecord>;
}

/** Each user's own notification preferences (email on or off). */
export interface NotificationPrefsRepository {
  put(prefs: NotificationPrefsRecord): Promise<void>;
  find(userId: string): Promise<NotificationPrefsRecord | null>;
}

export interface InviteRepository {
  create(invite: InviteRecord): Promise<void>;
  find(code: string): Promise<InviteRecord | null>;
  listByGuild(guildId: string): Promise<InviteRecord[]>;
  /** Atomically counts one use if still allowed; false when exhausted or expired. */
  use(code: string, now: number): Promise<boolean>;
  delete(code: string): Promise<void>;
}

/** A guild's custom emoji: one small partition per guild (a few hundred rows at most), read whole. */
export interface EmojiRepository {
  create(emoji: EmojiRecord): Promise<void>;
  find(guildId: string, emojiId: string): Promise<EmojiRecord | null>;
  /** The guild's emoji in id (creation) order. */
  list(guildId: string): Promise<EmojiRecord[]>;
  /** Changes an existing emoji; a missing one stays missing. */
  update(guildId: string, emojiId: string, patch: EmojiPatch): Promise<void>;
  delete(guildId: string, emojiId: string): Promise<void>;
}
/** Incoming webhooks: read by id on every execute, listed per guild (and per channel) by managers. */
export interface WebhookRepository {
  create(webhook: WebhookRecord): Promise<void>;
  find(id: string): Promise<WebhookRecord | null>;
  listByGuild(guildId: string): Promise<WebhookRecord[]>;
  listByChannel(guildId: string, channelId: string): Promise<WebhookRecord[]>;
  update(id: string, patch: WebhookPatch): Promise<void>;
  delete(id: string): Promise<void>;
}

export interface BanRepository {
  put(ban: BanRecord): Promise<void>;
  find(guildId: string, userId: string): Promise<BanRecord | null>;
  list(guildId: string, page: BanPage): Promise<BanRecord[]>;
  delete(guildId: string, userId: string): Promise<void>;
}

/** Which audit log entries a page holds: newest first, `before`/`after` exclusive ids, optional filters. */
export interface AuditLogQuery {
  limit: number;
  before?: string;
  after?: string;
  userId?: string;
  actionType?: number;
  /** The clock (epoch ms): entries expired by then are not served. */
  now: number;
  /** Epoch ms no kept entry predates (now less the retention): where a driver that walks time stops. */
  oldest: number;
}

export interface AuditLogRepository {
  /** Appends one entry, kept until its `expiresAt` (an entry already expired is not written). */
  append(entry: AuditLogEntryRecord): Promise<void>;
  /**
   * One page of a guild's log, newest first. With `after`, the page is the `limit` entries just above it
   * (still served newest first); otherwise the `limit` entries just below `before` (or the newest).
   */
  list(guildId: string, query: AuditLogQuery): Promise<AuditLogEntryRecord[]>;
}

/** A guild's AutoMod rules: few per guild (Discord caps them), always read whole. */
export interface AutoModRuleRepository {
  put(rule: AutoModRuleRecord): Promise<void>;
  find(guildId: string, id: string): Promise<AutoModRuleRecord | null>;
  /** Every rule of the guild, by id. */
  list(guildId: string): Promise<AutoModRuleRecord[]>;
  delete(guildId: string, id: string): Promise<void>;
}

/** Users' relationships (blocks) and privacy settings: keyed reads, one per check. */
export interface RelationshipRepository {
  put(relationship: RelationshipRecord): Promise<void>;
  find(userId: string, targetId: string): Promise<RelationshipRecord | null>;
  /** The user's relationships, by target id, at most `limit`. */
  list(userId: string, limit: number): Promise<RelationshipRecord[]>;
  delete(userId: string, targetId: string): Promise<void>;
  privacy(userId: string): Promise<UserPrivacyRecord | null>;
  putPrivacy(privacy: UserPrivacyRecord): Promise<void>;
}

/** Which reports a page holds: newest first, `before` an exclusive report id; `guildId` narrows to one guild. */
export interface ReportQuery {
  guildId?: string;
  before?: string;
  limit: number;
}

/** Reports of messages, users and guilds, read by the guild's moderators and by the instance admins. */
export interface ReportRepository {
  create(report: ReportRecord): Promise<void>;
  /** One page, newest first: every report, or those about one guild. */
  listReports(query: ReportQuery): Promise<ReportRecord[]>;
}

export interface AttachmentRepository {
  create(attachment: AttachmentRecord): Promise<void>;
  find(id: string): Promise<AttachmentRecord | null>;
  /**
   * Claims an attachment for a message, atomically and only if it is still unattached, in
   * `channelId` and uploaded by `uploaderId`. False when any of that does not hold (or it is gone).
   */
  attach(id: string, claim: { channelId: string; uploaderId: string; messageId: string }): Promise<boolean>;
  /** Undoes `attach` for that message only (its message write failed). */
  detach(id: string, messageId: string): Promise<void>;
  /** A channel's attachments, attached or not, ascending by id: for cleanup after the channel goes. */
  listByChannel(channelId: string, page: Page): Promise<AttachmentRecord[]>;
  /**
   * One page of the unattached-upload sweep: uploads no message has claimed, created before `createdBefore`
   * (epoch ms). Pass the returned cursor back for the next page; null once the scan is complete. A page may
   * hold fewer than `limit` rows, even none, while the cursor is not null (a driver that filters as it scans).
   */
  listUnclaimed(
    createdBefore: number,
    page: { limit: number; cursor: string | null },
  ): Promise<{ attachments: AttachmentRecord[]; cursor: string | null }>;
  /**
   * Deletes those of `ids` that no message has claimed, each atomically against `attach` (a message claiming
   * one at the same moment either gets it or finds it gone). Returns the ids it deleted.
   */
  deleteUnclaimed(ids: readonly string[]): Promise<string[]>;
  delete(ids: readonly string[]): Promise<void>;
  /**
   * Bytes of attachments `userId` uploaded that are still stored, claimed or not (the upload quota). Kept as
   * attachments are created and deleted on every path, so reading it is one row, never a scan.
   */
  usage(userId: string): Promise<number>;
}

/** Instance-wide operator settings (the maintenance flag), few and small, read by every process. */
export interface SettingsRepository {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  /**
   * Writes `value` only if the key holds none (atomically: a lightweight transaction on Cassandra) and returns
   * the value the key holds afterwards, this one or the one that was first. For keys that are set once.
   */
  claim(key: string, value: string): Promise<string>;
}

/** Counts of one hot-read cache (hits, misses, reads that joined one already in flight). */
export interface HotReadStats {
  readonly cache: string;
  hits: number;
  misses: number;
  coalesced: number;
}

/**
 * A driver's caches of hot reads (Cassandra: channel rows, message authors, bucket lists). The driver forgets
 * what its own process writes; `forget*` is for changes other processes announce (bus invalidations).
 */
export interface HotReads {
  stats(): readonly HotReadStats[];
  forgetChannel(id: string): void;
  forgetUser(id: string): void;
}

export interface Storage {
  readonly backend: 'sqlite' | 'cassandra';
  /** Present where the driver caches hot reads (Cassandra). */
  readonly hotReads?: HotReads;
  readonly users: UserRepository;
  readonly tokens: TokenRepository;
  readonly accountTokens: AccountTokenRepository;
  /** Unfurled links (a cache with expiry, not exported). */
  readonly linkPreviews: LinkPreviewRepository;
  readonly identities: UserIdentityRepository;
  readonly dataExports: DataExportRepository;
  readonly guilds: GuildRepository;
  readonly members: MemberRepository;
  readonly roles: RoleRepository;
  readonly channels: ChannelRepository;
  readonly dms: DmRepository;
  readonly messages: MessageRepository;
  /** Full-text and filtered message search (docs/search.md). */
  readonly messageSearch: MessageSearchRepository;
  readonly reactions: ReactionRepository;
  readonly pins: PinRepository;
  readonly readStates: ReadStateRepository;
  readonly guildSettings: GuildSettingsRepository;
  readonly push: PushRepository;
  readonly notificationPrefs: NotificationPrefsRepository;
  readonly invites: InviteRepository;
  readonly bans: BanRepository;
  readonly emojis: EmojiRepository;
  readonly webhooks: WebhookRepository;
  readonly auditLog: AuditLogRepository;
  readonly autoModRules: AutoModRuleRepository;
  readonly relationships: RelationshipRepository;
  readonly reports: ReportRepository;
  readonly attachments: AttachmentRepository;
  readonly jobs: JobStore;
  readonly instanceSettings: SettingsRepository;
  readonly instanceAuditLog: InstanceAuditLogRepository;
  readonly instanceCounters: InstanceCounterRepository;
  /**
   * Applies pending schema migrations (returns the names applied), then records the instance's snowflake epoch
   * if it has none and makes it this process's (libs/storage/src/epoch).
   */
  migrate(): Promise<string[]>;
  /** Cheap round trip for readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type { JobRecord };

/** Durable jobs for the monolith (microservices use JetStream instead). */
export interface JobStore {
  enqueue(job: JobRecord): Promise<void>;
  /** Leases up to `limit` due jobs: pushes their run_at to now + leaseMs and counts the attempt. */
  claim(now: number, limit: number, leaseMs: number): Promise<JobRecord[]>;
  complete(id: string): Promise<void>;
  /** Schedules a retry at `retryAt`, or sets the job aside as dead when `retryAt` is null. */
  fail(id: string, error: string, retryAt: number | null): Promise<void>;
  counts(): Promise<{ pending: number; dead: number }>;
}
