import type { HotReads, Storage } from '../contract';
import { establishSnowflakeEpoch } from '../epoch';
import { CassandraBulk, type CassandraBulkOptions } from './bulk';
import {
  defaultCassandraMigrationsDir,
  type MigrateOptions,
  migrateCassandra,
  type MigrationOutcome,
} from './migrator';
import { CassandraAttachmentRepository } from './repositories/attachment.repository';
import { CassandraAuditLogRepository } from './repositories/audit-log.repository';
import { CassandraBanRepository } from './repositories/ban.repository';
import {
  CassandraAutoModRuleRepository,
  CassandraRelationshipRepository,
  CassandraReportRepository,
} from './repositories/moderation.repository';
import { CassandraWebhookRepository } from './repositories/webhook.repository';
import { CassandraGuildSettingsRepository } from './repositories/guild-settings.repository';
import {
  CassandraNotificationPrefsRepository,
  CassandraPushRepository,
} from './repositories/push.repository';
import { CassandraChannelRepository } from './repositories/channel.repository';
import { CassandraDmRepository } from './repositories/dm.repository';
import { CassandraGuildRepository } from './repositories/guild.repository';
import { CassandraInviteRepository } from './repositories/invite.repository';
import { CassandraJobStore } from './repositories/job.store';
import { CassandraMemberRepository } from './repositories/member.repository';
import { CassandraMessageRepository } from './repositories/message.repository';
import { CassandraMessageSearch } from './repositories/message-search.repository';
import { CassandraReactionRepository } from './repositories/reaction.repository';
import { CassandraReadStateRepository } from './repositories/read-state.repository';
import { CassandraPinRepository } from './repositories/pin.repository';
import { CassandraEmojiRepository } from './repositories/emoji.repository';
import { CassandraRoleRepository } from './repositories/role.repository';
import { CassandraSettingsRepository } from './repositories/settings.repository';
import { CassandraInstanceAuditLogRepository } from './repositories/instance-audit-log.repository';
import { CassandraInstanceCounterRepository } from './repositories/instance-counter.repository';
import { CassandraTokenRepository } from './repositories/token.repository';
import { CassandraAccountTokenRepository } from './repositories/account-token.repository';
import { CassandraLinkPreviewRepository } from './repositories/link-preview.repository';
import { CassandraUserIdentityRepository } from './repositories/user-identity.repository';
import { CassandraDataExportRepository } from './repositories/data-export.repository';
import { CassandraUserRepository } from './repositories/user.repository';
import { CassandraSession, type CassandraSettings, type SessionOptions } from './session';

export interface CassandraStorageOptions extends SessionOptions {
  migrationsDir?: string;
  /** For the operator tools' bulk access (`bulk`). */
  bulk?: CassandraBulkOptions;
}

/**
 * The Cassandra driver: one cassandra-driver Client (token-aware, local-DC routing, prepared
 * statements) shared by every repository. The client connects on first use; `migrate()` creates the
 * keyspace and tables first when they are missing.
 */
export class CassandraStorage implements Storage {
  readonly backend = 'cassandra' as const;
  readonly users: CassandraUserRepository;
  readonly tokens: CassandraTokenRepository;
  readonly accountTokens: CassandraAccountTokenRepository;
  readonly linkPreviews: CassandraLinkPreviewRepository;
  readonly identities: CassandraUserIdentityRepository;
  readonly dataExports: CassandraDataExportRepository;
  readonly guilds: CassandraGuildRepository;
  readonly members: CassandraMemberRepository;
  readonly roles: CassandraRoleRepository;
  readonly channels: CassandraChannelRepository;
  readonly dms: CassandraDmRepository;
  readonly messages: CassandraMessageRepository;
  readonly messageSearch: CassandraMessageSearch;
  readonly reactions: CassandraReactionRepository;
  readonly readStates: CassandraReadStateRepository;
  readonly guildSettings: CassandraGuildSettingsRepository;
  readonly push: CassandraPushRepository;
  readonly notificationPrefs: CassandraNotificationPrefsRepository;
  readonly pins: CassandraPinRepository;
  readonly emojis: CassandraEmojiRepository;
  readonly invites: CassandraInviteRepository;
  readonly bans: CassandraBanRepository;
  readonly webhooks: CassandraWebhookRepository;
  readonly auditLog: CassandraAuditLogRepository;
  readonly autoModRules: CassandraAutoModRuleRepository;
  readonly relationships: CassandraRelationshipRepository;
  readonly reports: CassandraReportRepository;
  readonly attachments: CassandraAttachmentRepository;
  readonly jobs: CassandraJobStore;
  readonly instanceSettings: CassandraSettingsRepository;
  readonly instanceAuditLog: CassandraInstanceAuditLogRepository;
  readonly instanceCounters: CassandraInstanceCounterRepository;
  /** Whole-table scans and bulk writes for the operator tools (never request paths). */
  readonly bulk: CassandraBulk;
  readonly session: CassandraSession;
  readonly hotReads: HotReads;
  /** What the last migrate() did (replication changes are reported here for the caller to log). */
  lastMigration: MigrationOutcome | null = null;

  private readonly migrationsDir: string;
  private closed = false;

  constructor(
    readonly settings: CassandraSettings,
    options: CassandraStorageOptions = {},
  ) {
    this.session = new CassandraSession(settings, options);
    this.migrationsDir = options.migrationsDir ?? defaultCassandraMigrationsDir();
    const db = this.session;
    this.users = new CassandraUserRepository(db);
    this.tokens = new CassandraTokenRepository(db);
    this.accountTokens = new CassandraAccountTokenRepository(db);
    this.linkPreviews = new CassandraLinkPreviewRepository(db);
    this.identities = new CassandraUserIdentityRepository(db);
    this.dataExports = new CassandraDataExportRepository(db);
    this.channels = new CassandraChannelRepository(db);
    this.members = new CassandraMemberRepository(db);
    this.roles = new CassandraRoleRepository(db, this.members, this.channels);
    this.invites = new CassandraInviteRepository(db);
    this.guilds = new CassandraGuildRepository(db, this.roles, this.channels, this.members, this.invites);
    this.dms = new CassandraDmRepository(db, this.channels);
    this.reactions = new CassandraReactionRepository(db);
    this.jobs = new CassandraJobStore(db);
    this.messages = new CassandraMessageRepository(db, this.reactions, this.jobs);
    this.messageSearch = new CassandraMessageSearch(db, this.messages);
    this.readStates = new CassandraReadStateRepository(db);
    this.guildSettings = new CassandraGuildSettingsRepository(db);
    this.push = new CassandraPushRepository(db);
    this.notificationPrefs = new CassandraNotificationPrefsRepository(db);
    this.pins = new CassandraPinRepository(db);
    this.emojis = new CassandraEmojiRepository(db);
    this.bans = new CassandraBanRepository(db);
    this.webhooks = new CassandraWebhookRepository(db);
    this.auditLog = new CassandraAuditLogRepository(db);
    this.autoModRules = new CassandraAutoModRuleRepository(db);
    this.relationships = new CassandraRelationshipRepository(db);
    this.reports = new CassandraReportRepository(db);
    this.attachments = new CassandraAttachmentRepository(db);
    this.instanceSettings = new CassandraSettingsRepository(db);
    this.instanceAuditLog = new CassandraInstanceAuditLogRepository(db);
    this.instanceCounters = new CassandraInstanceCounterRepository(db);
    this.bulk = new CassandraBulk(db, this.messages, options.bulk);
    const caches = [this.channels.cache, this.users.authors, this.messages.bucketLists];
    this.hotReads = {
      stats: () => caches.map((cache) => cache.stats),
      forgetChannel: (id) => this.channels.cache.forget(id),
      forgetUser: (id) => this.users.authors.forget(id),
    };
  }

  /** Applies pending migrations, then records the instance's snowflake epoch (if new) and makes it this process's. */
  async migrate(options: MigrateOptions = {}): Promise<string[]> {
    this.lastMigration = await migrateCassandra(this.settings, this.session, this.migrationsDir, options);
    await establishSnowflakeEpoch({
      settings: this.instanceSettings,
      users: {
        hasUsers: async () =>
          (await this.session.execute('read', 'SELECT id FROM users LIMIT 1', [], { idempotent: true }))
            .rowLength > 0,
      },
    });
    return this.lastMigration.applied;
  }

  /**
   * Readiness: one read at the configured read consistency, so "ready" means requests can be served
   * (with LOCAL_QUORUM and RF 2, one of two local replicas down makes this fail).
   */
  async ping(): Promise<void> {
    await this.session.execute('read', "SELECT name FROM schema_migrations WHERE name = 'ping'", [], {
      idempotent: true,
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Send postings still being written (they follow the send, search-postings.ts): land them first.
    await this.messages.postings.settled();
    await this.session.shutdown();
  }
}
