import { type ReportDto, toReportDto } from '../moderation/reports.service';
import { Inject, Injectable } from '@nestjs/common';
import { AuthService, InstanceAdmins, InstanceCounters, type InstanceStats } from '@parley/auth';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { BadRequestError, isSnowflake, isoTime, snowflakeTime, unknown } from '@parley/common';
import {
  type GuildRecord,
  type InstanceAuditEntryRecord,
  STORAGE,
  type Storage,
  type UserRecord,
  isDeletedUser,
} from '@parley/storage';
import { GuildService } from '../guilds.service';

/** An account as an instance admin sees it. */
export interface AdminUserDto {
  id: string;
  username: string;
  display_name: string | null;
  avatar: string | null;
  email: string;
  verified: boolean;
  mfa_enabled: boolean;
  bot: boolean;
  created_at: string;
  admin: boolean;
  disabled: boolean;
  pending_approval: boolean;
}

export interface AdminGuildDto {
  id: string;
  name: string;
  icon: string | null;
  owner_id: string;
  created_at: string;
}

export interface AdminAuditEntryDto {
  id: string;
  actor_id: string;
  action: InstanceAuditEntryRecord['action'];
  target_type: InstanceAuditEntryRecord['targetType'];
  target_id: string;
  reason: string | null;
  created_at: string;
}

/** A page of a listing: `cursor` goes back as `before` for the next one; null when there is no more. */
export interface AdminPage<T> {
  items: T[];
  cursor: string | null;
}

/** Driver pages read per listing request at most (a Cassandra page may be short while it filters). */
const MAX_DRIVER_PAGES = 20;

/**
 * The instance administrators' actions (docs/accounts.md#instance-administrators), but for deleting a user,
 * which `@parley/accounts` serves (`AdminAccountsController`: the same deletion as `DELETE /users/@me`). Every change is written to
 * the instance audit log after it is done; the caller's admin status is checked by each method first.
 */
@Injectable()
export class AdminService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly admins: InstanceAdmins,
    private readonly counters: InstanceCounters,
    private readonly auth: AuthService,
    private readonly guilds: GuildService,
  ) {}

  async listUsers(
    actorId: string,
    q: { query: string; before?: string; limit: number },
  ): Promise<AdminPage<AdminUserDto>> {
    await this.admins.require(actorId);
    const items: AdminUserDto[] = [];
    let cursor: string | null = q.before ?? null;
    for (let i = 0; i < MAX_DRIVER_PAGES && items.length < q.limit; i++) {
      const page = await this.storage.users.search(q.query, { limit: q.limit - items.length, cursor });
      // Deleted accounts keep a row under "Deleted User" (their id stays in messages): not listed.
      items.push(...page.users.filter((u) => !isDeletedUser(u)).map((u) => this.toUser(u)));
      cursor = page.cursor;
      if (cursor === null) break;
    }
    return { items, cursor };
  }

  async updateUser(actorId: string, userId: string, patch: { disabled: boolean }, reason: string | null) {
    await this.admins.require(actorId);
    const target = await this.target(userId);
    if (target.id === actorId) throw new BadRequestError('You cannot disable your own account');
    await this.storage.users.setFlags(target.id, { disabled: patch.disabled });
    if (patch.disabled) await this.endSessions(target.id);
    await this.admins.record(
      actorId,
      patch.disabled ? 'user.disable' : 'user.enable',
      'user',
      target.id,
      reason,
    );
    return this.toUser({ ...target, disabled: patch.disabled });
  }

  async listGuilds(
    actorId: string,
    q: { query: string; before?: string; limit: number },
  ): Promise<AdminPage<AdminGuildDto>> {
    await this.admins.require(actorId);
    const items: AdminGuildDto[] = [];
    let cursor: string | null = q.before ?? null;
    for (let i = 0; i < MAX_DRIVER_PAGES && items.length < q.limit; i++) {
      const page = await this.storage.guilds.search(q.query, { limit: q.limit - items.length, cursor });
      items.push(...page.guilds.map(toAdminGuild));
      cursor = page.cursor;
      if (cursor === null) break;
    }
    return { items, cursor };
  }

  async deleteGuild(actorId: string, guildId: string, reason: string | null): Promise<void> {
    await this.admins.require(actorId);
    const guild = isSnowflake(guildId) ? await this.storage.guilds.findById(guildId) : null;
    if (!guild) throw unknown('guild');
    await this.guilds.remove(guild.id);
    await this.admins.record(actorId, 'guild.delete', 'guild', guild.id, reason);
  }

  async stats(actorId: string): Promise<InstanceStats> {
    await this.admins.require(actorId);
    return this.counters.read();
  }

  /** Every report on the instance (messages, users and guilds), newest first. */
  async reports(actorId: string, q: { before?: string; limit: number }): Promise<ReportDto[]> {
    await this.admins.require(actorId);
    const page = await this.storage.reports.listReports({ before: q.before, limit: q.limit });
    return page.map(toReportDto);
  }

  async auditLog(actorId: string, q: { before?: string; limit: number }): Promise<AdminAuditEntryDto[]> {
    await this.admins.require(actorId);
    const now = Date.now();
    const entries = await this.storage.instanceAuditLog.list({
      limit: q.limit,
      before: q.before,
      now,
      oldest: now - this.retentionMs(),
    });
    return entries.map((e) => ({
      id: e.id,
      actor_id: e.actorId,
      action: e.action,
      target_type: e.targetType,
      target_id: e.targetId,
      reason: e.reason,
      created_at: isoTime(snowflakeTime(e.id)),
    }));
  }

  async registrations(actorId: string, q: { before?: string; limit: number }): Promise<AdminUserDto[]> {
    await this.admins.require(actorId);
    const users = await this.storage.users.listPendingApproval({ limit: q.limit, before: q.before });
    return users.map((u) => this.toUser(u));
  }

  async approve(actorId: string, userId: string, reason: string | null): Promise<AdminUserDto> {
    await this.admins.require(actorId);
    const target = await this.pending(userId);
    await this.storage.users.setFlags(target.id, { approvalPending: false });
    await this.admins.record(actorId, 'registration.approve', 'registration', target.id, reason);
    await this.admins.mailApproval(target);
    return this.toUser({ ...target, approvalPending: false });
  }

  /** Refuses a registration: the account is deleted (its username and email are free again). */
  async reject(actorId: string, userId: string, reason: string | null): Promise<void> {
    await this.admins.require(actorId);
    const target = await this.pending(userId);
    await this.storage.users.delete(target.id);
    this.counters.count('users', -1);
    await this.admins.record(actorId, 'registration.reject', 'registration', target.id, reason);
  }

  /** Every token of the user stops working and every gateway session on them closes, on every node. */
  private async endSessions(userId: string): Promise<void> {
    await this.auth.logoutAll(userId);
    // A session whose token was being issued as the tokens were deleted is caught here (every gateway node).
    this.bus.publish({
      type: 'USER_SESSIONS_REVOKED',
      scope: { kind: 'user', id: userId },
      data: { user_id: userId },
    });
  }

  private async target(userId: string): Promise<UserRecord> {
    const user = isSnowflake(userId) ? await this.storage.users.findById(userId) : null;
    if (!user) throw unknown('user');
    return user;
  }

  private async pending(userId: string): Promise<UserRecord> {
    const user = await this.target(userId);
    if (user.approvalPending !== true) throw new BadRequestError('This account is not waiting for approval');
    return user;
  }

  private retentionMs(): number {
    return this.admins.auditRetentionMs;
  }

  private toUser(u: UserRecord): AdminUserDto {
    return {
      id: u.id,
      username: u.username,
      display_name: u.displayName,
      avatar: u.avatar,
      email: u.email,
      verified: u.emailVerified,
      mfa_enabled: u.mfaSecret !== null,
      bot: Boolean(u.botOwnerId),
      created_at: isoTime(u.createdAt),
      admin: this.admins.isAdmin(u),
      disabled: u.disabled === true,
      pending_approval: u.approvalPending === true,
    };
  }
}

function toAdminGuild(g: GuildRecord): AdminGuildDto {
  return { id: g.id, name: g.name, icon: g.icon, owner_id: g.ownerId, created_at: isoTime(g.createdAt) };
}
