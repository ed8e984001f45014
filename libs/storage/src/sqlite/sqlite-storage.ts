import type { Storage } from '../contract';
import { establishSnowflakeEpoch } from '../epoch';
import { SqliteBulk } from './bulk';
import {
  awaitLocksAsynchronously,
  isInMemory,
  openWriter,
  SqliteDb,
  type SqliteSettings,
} from './connection';
import { settle } from './errors';
import { HOT_QUERIES, type HotQueryName, type HotReader } from './hot-queries';
import { defaultMigrationsDir, migrate } from './migrator';
import { Checkpointer } from './checkpointer';
import { ReaderPool, WriterReader } from './reader-pool';
import { SqliteAttachmentRepository } from './repositories/attachment.repository';
import { SqliteAuditLogRepository } from './repositories/audit-log.repository';
import { SqliteBanRepository } from './repositories/ban.repository';
import {
  SqliteAutoModRuleRepository,
  SqliteRelationshipRepository,
  SqliteReportRepository,
} from './repositories/moderation.repository';
import { SqliteWebhookRepository } from './repositories/webhook.repository';
import { SqliteGuildSettingsRepository } from './repositories/guild-settings.repository';
import { SqliteNotificationPrefsRepository, SqlitePushRepository } from './repositories/push.repository';
import { SqliteChannelRepository } from './repositories/channel.repository';
import { SqliteDmRepository } from './repositories/dm.repository';
import { SqliteGuildRepository } from './repositories/guild.repository';
import { SqliteInviteRepository } from './repositories/invite.repository';
import { SqliteJobStore } from './repositories/job.store';
import { SqliteMemberRepository } from './repositories/member.repository';
import { SqliteMessageSearch } from './repositories/message-search.repository';
import { SqliteMessageRepository } from './repositories/message.repository';
import { SqliteReactionRepository } from './repositories/reaction.repository';
import { SqliteReadStateRepository } from './repositories/read-state.repository';
import { SqlitePinRepository } from './repositories/pin.repository';
import { SqliteEmojiRepository } from './repositories/emoji.repository';
import { SqliteRoleRepository } from './repositories/role.repository';
import { SqliteSettingsRepository } from './repositories/settings.repository';
import { SqliteInstanceAuditLogRepository } from './repositories/instance-audit-log.repository';
import { SqliteInstanceCounterRepository } from './repositories/instance-counter.repository';
import { SqliteTokenRepository } from './repositories/token.repository';
import { SqliteAccountTokenRepository } from './repositories/account-token.repository';
import { SqliteLinkPreviewRepository } from './repositories/link-preview.repository';
import { SqliteUserIdentityRepository } from './repositories/user-identity.repository';
import { SqliteDataExportRepository } from './repositories/data-export.repository';
import { SqliteUserRepository } from './repositories/user.repository';

/** How often pending messages are moved into the search index (the index lag of a search-free instance). */
const SEARCH_INDEX_INTERVAL_MS = 200;
/**
 * Messages indexed per transaction by the background indexer, and such slices per tick at most. The writer
 * is the main thread: each slice is a few milliseconds, and the sends queued meanwhile run between slices
 * (setImmediate), instead of waiting for one transaction holding everything sent in 200 ms.
 */
const SEARCH_INDEX_SLICE = 100;
const SEARCH_INDEX_SLICES_PER_TICK = 100;
/** How often the checkpoint thread folds the WAL back into the database file. */
const CHECKPOINT_INTERVAL_MS = 500;

/**
 * The SQLite driver: one writer connection on the main thread (SQLite has a single writer anyway)
 * and, when max_open_conns > 1, max_open_conns - 1 reader threads for history and member pages and one thread
 * for WAL checkpoints.
 */
export class SqliteStorage implements Storage {
  readonly backend = 'sqlite' as const;
  readonly users: SqliteUserRepository;
  readonly tokens: SqliteTokenRepository;
  readonly accountTokens: SqliteAccountTokenRepository;
  readonly linkPreviews: SqliteLinkPreviewRepository;
  readonly identities: SqliteUserIdentityRepository;
  readonly dataExports: SqliteDataExportRepository;
  readonly guilds: SqliteGuildRepository;
  readonly members: SqliteMemberRepository;
  readonly roles: SqliteRoleRepository;
  readonly channels: SqliteChannelRepository;
  readonly dms: SqliteDmRepository;
  readonly messages: SqliteMessageRepository;
  readonly messageSearch: SqliteMessageSearch;
  readonly reactions: SqliteReactionRepository;
  readonly readStates: SqliteReadStateRepository;
  readonly guildSettings: SqliteGuildSettingsRepository;
  readonly push: SqlitePushRepository;
  readonly notificationPrefs: SqliteNotificationPrefsRepository;
  readonly pins: SqlitePinRepository;
  readonly emojis: SqliteEmojiRepository;
  readonly invites: SqliteInviteRepository;
  readonly bans: SqliteBanRepository;
  readonly webhooks: SqliteWebhookRepository;
  readonly auditLog: SqliteAuditLogRepository;
  readonly autoModRules: SqliteAutoModRuleRepository;
  readonly relationships: SqliteRelationshipRepository;
  readonly reports: SqliteReportRepository;
  readonly attachments: SqliteAttachmentRepository;
  readonly jobs: SqliteJobStore;
  readonly instanceSettings: SqliteSettingsRepository;
  readonly instanceAuditLog: SqliteInstanceAuditLogRepository;
  readonly instanceCounters: SqliteInstanceCounterRepository;
  /** Whole-table scans and bulk writes for the operator tools (never request paths). */
  readonly bulk: SqliteBulk;

  private readonly db: SqliteDb;
  private readonly pool: ReaderPool | null;
  /** The thread that folds the WAL back into the database file (null: the writer does it in its commits). */
  readonly checkpointer: Checkpointer | null;
  private closed = false;
  private readonly indexer: NodeJS.Timeout;

  constructor(
    settings: SqliteSettings,
    private readonly migrationsDir: string = defaultMigrationsDir(),
  ) {
    this.db = new SqliteDb(openWriter(settings));
    // A lock held by another connection never stalls the event loop: writes retry asynchronously (errors.ts).
    awaitLocksAsynchronously(this.db, settings.busy_timeout);
    // An in-memory database is private to its connection, so it cannot be shared with reader threads.
    this.pool =
      settings.max_open_conns > 1 && !isInMemory(settings.path)
        ? new ReaderPool({
            path: settings.path,
            size: settings.max_open_conns - 1,
            busyTimeout: settings.busy_timeout,
            cacheSize: settings.cache_size,
            mmapSize: settings.mmap_size,
          })
        : null;
    const reader: HotReader = this.pool ?? new WriterReader(this.db);
    // With threads allowed (max_open_conns > 1), WAL checkpoints run on one of their own, not in commits.
    if (this.pool !== null && settings.wal_autocheckpoint > 0) {
      this.db.raw.pragma('wal_autocheckpoint = 0');
      this.checkpointer = new Checkpointer(settings.path, CHECKPOINT_INTERVAL_MS);
    } else this.checkpointer = null;

    this.users = new SqliteUserRepository(this.db);
    this.tokens = new SqliteTokenRepository(this.db);
    this.accountTokens = new SqliteAccountTokenRepository(this.db);
    this.linkPreviews = new SqliteLinkPreviewRepository(this.db);
    this.identities = new SqliteUserIdentityRepository(this.db);
    this.dataExports = new SqliteDataExportRepository(this.db);
    this.roles = new SqliteRoleRepository(this.db);
    this.channels = new SqliteChannelRepository(this.db);
    this.members = new SqliteMemberRepository(this.db, reader);
    this.guilds = new SqliteGuildRepository(this.db, this.roles, this.channels, this.members);
    this.dms = new SqliteDmRepository(this.db, this.channels);
    this.messages = new SqliteMessageRepository(this.db, reader);
    this.messageSearch = new SqliteMessageSearch(this.db, reader);
    // New messages join the search index a batch at a time (see SqliteMessageSearch), off the send path.
    const slice = (left: number): void => {
      if (this.closed) return;
      try {
        // A bounded number of slices per tick: a bulk import's backlog never holds the writer for long.
        const indexed = this.messageSearch.indexPending(1, SEARCH_INDEX_SLICE);
        if (indexed === SEARCH_INDEX_SLICE && left > 1) setImmediate(() => slice(left - 1));
      } catch {
        // Busy or closing: the next tick (or the next search) indexes them.
      }
    };
    this.indexer = setInterval(() => slice(SEARCH_INDEX_SLICES_PER_TICK), SEARCH_INDEX_INTERVAL_MS);
    this.indexer.unref();
    this.reactions = new SqliteReactionRepository(this.db, reader);
    this.readStates = new SqliteReadStateRepository(this.db);
    this.guildSettings = new SqliteGuildSettingsRepository(this.db);
    this.push = new SqlitePushRepository(this.db);
    this.notificationPrefs = new SqliteNotificationPrefsRepository(this.db);
    this.pins = new SqlitePinRepository(this.db);
    this.emojis = new SqliteEmojiRepository(this.db);
    this.invites = new SqliteInviteRepository(this.db);
    this.bans = new SqliteBanRepository(this.db);
    this.webhooks = new SqliteWebhookRepository(this.db);
    this.auditLog = new SqliteAuditLogRepository(this.db);
    this.autoModRules = new SqliteAutoModRuleRepository(this.db);
    this.relationships = new SqliteRelationshipRepository(this.db);
    this.reports = new SqliteReportRepository(this.db);
    this.attachments = new SqliteAttachmentRepository(this.db);
    this.jobs = new SqliteJobStore(this.db);
    this.instanceSettings = new SqliteSettingsRepository(this.db);
    this.instanceAuditLog = new SqliteInstanceAuditLogRepository(this.db);
    this.instanceCounters = new SqliteInstanceCounterRepository(this.db);
    this.bulk = new SqliteBulk(this.db);
  }

  /** Applies pending migrations, then records the instance's snowflake epoch (if new) and makes it this process's. */
  async migrate(): Promise<string[]> {
    const applied = await settle(() => this.db.blocking(() => migrate(this.db, this.migrationsDir)));
    await establishSnowflakeEpoch({
      settings: this.instanceSettings,
      users: { hasUsers: () => settle(() => this.db.get('SELECT id FROM users LIMIT 1') !== undefined) },
    });
    return applied;
  }

  ping(): Promise<void> {
    return settle(() => {
      this.db.get('SELECT 1');
    });
  }

  /** Commits queued message writes, stops the reader threads, then closes the writer. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.indexer);
    this.messages.flush();
    await this.pool?.close();
    await this.checkpointer?.close();
    this.db.raw.close();
  }

  /** The `EXPLAIN QUERY PLAN` detail lines of a hot query, for tests that pin its index use. */
  explain(name: HotQueryName): string[] {
    const { sql, params } = HOT_QUERIES[name];
    return this.db.raw
      .prepare<bigint[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...Array.from({ length: params }, () => 1n))
      .map((row) => row.detail);
  }
}
