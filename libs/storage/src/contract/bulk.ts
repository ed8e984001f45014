import type {
  AttachmentRecord,
  AuditLogEntryRecord,
  AutoModRuleRecord,
  BanRecord,
  WebhookRecord,
  ChannelRecord,
  EmojiRecord,
  GuildRecord,
  GuildSettingsRecord,
  InstanceSecretRecord,
  NotificationPrefsRecord,
  PushSubscriptionRecord,
  InstanceAuditEntryRecord,
  UserIdentityRecord,
  InviteRecord,
  JobRecord,
  MemberRecord,
  MessageRecord,
  OverwriteRecord,
  PinRecord,
  RelationshipRecord,
  ReportRecord,
  ReadStateRecord,
  RoleRecord,
  TokenRecord,
  UserPrivacyRecord,
  UserRecord,
} from './records';
import type { SettingsRepository } from './repositories';

/**
 * Whole-table access for the operator tools (migrate, verify, export, import): paged scans, idempotent
 * bulk upserts and deletes, and migration checkpoints. Never used on request paths, which is why it is
 * a separate interface from `Storage` and reached through the drivers' `bulk` property, not the
 * repositories.
 *
 * The tables here are logical (one record shape each), the same on every backend; a driver maps each
 * to its own physical tables (Cassandra's denormalised copies and claim tables are written with the
 * record they derive from).
 */
export const BULK_TABLES = [
  'users',
  'tokens',
  'guilds',
  'roles',
  'members',
  'channels',
  'overwrites',
  'dm_pairs',
  'messages',
  'channel_last_messages',
  'pins',
  'reactions',
  'read_states',
  'user_guild_settings',
  'push_subscriptions',
  'instance_secrets',
  'notification_preferences',
  'user_identities',
  'invites',
  'bans',
  'emojis',
  'webhooks',
  'audit_log_entries',
  'automod_rules',
  'relationships',
  'user_privacy',
  'reports',
  'instance_audit_log',
  'attachments',
  'jobs',
] as const;

export type BulkTable = (typeof BULK_TABLES)[number];

/** A guild channel's permission overwrite, with the guild it belongs to (Cassandra partitions by guild). */
export interface BulkOverwrite extends OverwriteRecord {
  guildId: string;
}

/** The DM uniqueness claim: one row per unordered pair (userLow < userHigh numerically). */
export interface DmPairRecord {
  userLow: string;
  userHigh: string;
  channelId: string;
}

export interface ReactionRecord {
  channelId: string;
  messageId: string;
  emoji: string;
  userId: string;
}

/**
 * A channel's last message id: written by every send, never lowered (a deleted last message keeps it), so
 * it is carried as a record of its own rather than derived from the messages copied.
 */
export interface ChannelLastMessageRecord {
  channelId: string;
  lastMessageId: string;
}

export interface BulkJob extends JobRecord {
  /** Set aside after its last attempt (kept for inspection, never run again). */
  dead: boolean;
}

/** Channels come without overwrites here: those are the `overwrites` table. */
export interface BulkRecords {
  users: UserRecord;
  tokens: TokenRecord;
  guilds: GuildRecord;
  roles: RoleRecord;
  members: MemberRecord;
  channels: ChannelRecord;
  overwrites: BulkOverwrite;
  dm_pairs: DmPairRecord;
  messages: MessageRecord;
  channel_last_messages: ChannelLastMessageRecord;
  pins: PinRecord;
  reactions: ReactionRecord;
  read_states: ReadStateRecord;
  user_guild_settings: GuildSettingsRecord;
  push_subscriptions: PushSubscriptionRecord;
  instance_secrets: InstanceSecretRecord;
  notification_preferences: NotificationPrefsRecord;
  user_identities: UserIdentityRecord;
  invites: InviteRecord;
  bans: BanRecord;
  emojis: EmojiRecord;
  webhooks: WebhookRecord;
  audit_log_entries: AuditLogEntryRecord;
  automod_rules: AutoModRuleRecord;
  relationships: RelationshipRecord;
  user_privacy: UserPrivacyRecord;
  reports: ReportRecord;
  instance_audit_log: InstanceAuditEntryRecord;
  attachments: AttachmentRecord;
  jobs: BulkJob;
}

export interface ScanPage<T> {
  records: T[];
  /** Where the next page starts; null when the table is exhausted. Opaque, but safe to store. */
  cursor: string | null;
}

export interface BulkWriteOptions {
  /**
   * Absent values clear what the target holds (a re-synchronised record). Without it absent values are
   * left unwritten, which on Cassandra avoids a tombstone per empty cell: right for a first copy into
   * an empty target.
   */
  overwrite?: boolean;
}

/** A record the target refused: the others of the same call were applied. */
export interface BulkWriteFailure {
  index: number;
  error: Error;
}

/**
 * A uniqueness claim (username, email, DM pair, invite code) that the target already holds for a
 * different record. Nothing of the refused record was written.
 */
export class BulkConflict extends Error {
  constructor(
    readonly claim: 'username' | 'email' | 'dm_pair' | 'invite_code',
    readonly key: string,
    holder: string,
  ) {
    super(`${claim} "${key}" is already held by ${holder} in the target`);
    this.name = 'BulkConflict';
  }
}

/** How far a copy from one source got in one table. */
export interface MigrationCheckpoint {
  table: BulkTable;
  /** Scan cursor after the last batch known to be written (null: from the start). */
  cursor: string | null;
  rows: number;
  done: boolean;
  updatedAt: number;
}

export interface BulkStorage {
  readonly backend: 'sqlite' | 'cassandra';
  /**
   * One page of a table in the driver's scan order (primary key order on SQLite, token order on
   * Cassandra). Rows that change while a scan runs may or may not be seen; rows that exist throughout
   * are seen exactly once.
   */
  scan<T extends BulkTable>(
    table: T,
    cursor: string | null,
    limit: number,
  ): Promise<ScanPage<BulkRecords[T]>>;
  /** Row count when the backend can tell cheaply (SQLite), else null. For progress estimates only. */
  count(table: BulkTable): Promise<number | null>;
  /**
   * Idempotent upserts: writing a record twice leaves what writing it once does. Each record is
   * applied whole or not at all; refused records come back (the rest are applied). Transient backend
   * failures reject the whole call, which may then be repeated safely.
   */
  write<T extends BulkTable>(
    table: T,
    records: readonly BulkRecords[T][],
    options?: BulkWriteOptions,
  ): Promise<BulkWriteFailure[]>;
  /** Deletes the records (by their keys, with whatever the backend derived from them). Idempotent. */
  remove<T extends BulkTable>(table: T, records: readonly BulkRecords[T][]): Promise<void>;
  /**
   * Reconciles the uniqueness claims with what holds them (`parley verify --claims`): every claim names a live
   * holder that has that value, and every holder's value has its claim. Paged scans and point reads, in
   * bounded memory; each mismatch goes to `onMismatch` as it is found. Answers how many claims of each kind
   * were read.
   */
  reconcileClaims(onMismatch: (mismatch: ClaimMismatch) => void): Promise<Record<ClaimKind, number>>;
  /** One channel's messages in ascending id order, strictly after `after` (null: from the oldest). */
  channelMessages(channelId: string, after: string | null, limit: number): Promise<MessageRecord[]>;
  /** Every reaction on one message. */
  messageReactions(channelId: string, messageId: string): Promise<ReactionRecord[]>;
  readonly checkpoints: CheckpointStore;
  /** The instance settings of this database (e.g. whether the source is in maintenance mode). */
  readonly settings: SettingsRepository;
}

/** The values claimed instance-wide: usernames (case-insensitive), emails, the DM of a pair, invite codes. */
export const CLAIM_KINDS = ['username', 'email', 'dm_pair', 'invite'] as const;
export type ClaimKind = (typeof CLAIM_KINDS)[number];

/** A claim without its holder, or a holder without its claim. */
export interface ClaimMismatch {
  kind: ClaimKind;
  /** The claimed value (username, email, `low:high` user pair, invite code). */
  key: string;
  problem: string;
}

/** Checkpoints live in the target, keyed by the source they copy from. */
export interface CheckpointStore {
  list(source: string): Promise<MigrationCheckpoint[]>;
  save(source: string, checkpoint: MigrationCheckpoint): Promise<void>;
  clear(source: string): Promise<void>;
}
