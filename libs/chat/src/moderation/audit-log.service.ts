import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Permission, type PublicUser, SnowflakeGenerator } from '@parley/common';
import { type AuditLogEntryRecord, STORAGE, type Storage } from '@parley/storage';
import { AccessService } from '../access.service';
import { UserDirectory } from '../users.directory';
import type { AuditLogChange, AuditLogEventType } from './audit-log-events';
import { AuditLogEntryPublisher } from './audit-log-publisher';
import {
  DEFAULT_MODERATION_SETTINGS,
  MODERATION_SETTINGS,
  type ModerationSettings,
} from './moderation.tokens';

/** What one moderation or admin action records. */
export interface AuditAction {
  guildId: string;
  /** Who acted; null for the system (AutoMod). */
  userId: string | null;
  actionType: AuditLogEventType;
  targetId: string | null;
  changes?: AuditLogChange[];
  reason?: string | null;
  options?: Record<string, string>;
}

export interface AuditLogEntryDto {
  id: string;
  guild_id: string;
  user_id: string | null;
  target_id: string | null;
  action_type: number;
  changes: AuditLogChange[];
  reason?: string;
  options?: Record<string, string>;
}

export interface AuditLogPage {
  audit_log_entries: AuditLogEntryDto[];
  users: PublicUser[];
  /** Discord's audit log also lists these; Parley has none of them, so they are always empty. */
  integrations: [];
  webhooks: [];
  guild_scheduled_events: [];
  threads: [];
  application_commands: [];
  auto_moderation_rules: [];
}

export interface AuditLogFilter {
  limit: number;
  before?: string;
  after?: string;
  user_id?: string;
  action_type?: number;
}

/**
 * The guild audit log. `record` is called after an action has succeeded and returns at once: the entry is
 * written (and announced) in the background, so the request that acted waits for no extra round trip; a failed
 * write is logged, never turned into a failed action.
 */
@Injectable()
export class AuditLogService {
  private readonly log = new Logger('AuditLog');
  private readonly retentionMs: number;

  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    private readonly ids: SnowflakeGenerator,
    private readonly access: AccessService,
    private readonly users: UserDirectory,
    private readonly publisher: AuditLogEntryPublisher,
    @Optional() @Inject(MODERATION_SETTINGS) settings?: ModerationSettings,
  ) {
    this.retentionMs = (settings ?? DEFAULT_MODERATION_SETTINGS).auditLogRetentionMs;
  }

  record(action: AuditAction): void {
    let entry: AuditLogEntryRecord;
    try {
      entry = {
        guildId: action.guildId,
        id: this.ids.next(),
        userId: action.userId,
        targetId: action.targetId,
        actionType: action.actionType,
        changes: JSON.stringify(action.changes ?? []),
        reason: action.reason ?? null,
        options: action.options ? JSON.stringify(action.options) : null,
        expiresAt: Date.now() + this.retentionMs,
      };
    } catch (err) {
      this.log.warn(`audit log entry of guild ${action.guildId} not recorded: ${String(err)}`);
      return;
    }
    void this.storage.auditLog
      .append(entry)
      .then(() => this.publisher.publish(toDto(entry)))
      .catch((err: unknown) =>
        this.log.warn(
          `audit log write failed (guild ${action.guildId}, action ${action.actionType}): ${String(err)}`,
        ),
      );
  }

  async list(guildId: string, userId: string, filter: AuditLogFilter): Promise<AuditLogPage> {
    await this.access.requireGuild(guildId, userId, Permission.VIEW_AUDIT_LOG);
    const now = Date.now();
    const entries = await this.storage.auditLog.list(guildId, {
      limit: filter.limit,
      before: filter.before,
      after: filter.after,
      userId: filter.user_id,
      actionType: filter.action_type,
      now,
      oldest: now - this.retentionMs,
    });
    const ids = entries.flatMap((e) => [e.userId, e.targetId]).filter((id): id is string => id !== null);
    const users = await this.users.many(ids);
    return {
      audit_log_entries: entries.map(toDto),
      users: [...users.values()],
      integrations: [],
      webhooks: [],
      guild_scheduled_events: [],
      threads: [],
      application_commands: [],
      auto_moderation_rules: [],
    };
  }
}

/** A stored entry in Discord's shape. */
export function toDto(e: AuditLogEntryRecord): AuditLogEntryDto {
  const dto: AuditLogEntryDto = {
    id: e.id,
    guild_id: e.guildId,
    user_id: e.userId,
    target_id: e.targetId,
    action_type: e.actionType,
    changes: JSON.parse(e.changes) as AuditLogChange[],
  };
  if (e.reason !== null) dto.reason = e.reason;
  if (e.options !== null) dto.options = JSON.parse(e.options) as Record<string, string>;
  return dto;
}
