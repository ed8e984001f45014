import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestError,
  ForbiddenError,
  type MemberDto,
  Permission,
  PermissionCalculator,
  isSnowflake,
  unknown,
} from '@parley/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { type MemberRecord, STORAGE, type Storage } from '@parley/storage';
import { AccessService } from './access.service';
import { GuildService } from './guilds.service';
import { AuditLogEvent, changesOf } from './moderation/audit-log-events';
import { AuditLogService } from './moderation/audit-log.service';
import { timedOutUntil, toMember } from './serializers';
import { UserDirectory } from './users.directory';

/** Guild membership: listing, nicknames and role assignment, kicking, leaving. */
@Injectable()
export class MemberService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly access: AccessService,
    private readonly users: UserDirectory,
    private readonly guilds: GuildService,
    private readonly audit: AuditLogService,
  ) {}

  /**
   * Discord's `PUT /guilds/:id/members/:user_id` as Parley offers it: a guild manager (MANAGE_GUILD) adds a
   * bot application's user. People join by invite only. Null when the bot was already a member (204).
   */
  async addBot(guildId: string, userId: string, botId: string): Promise<MemberDto | null> {
    await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    const bot = isSnowflake(botId) ? await this.storage.users.findById(botId) : null;
    if (!bot?.botOwnerId) throw unknown('user');
    if (await this.storage.members.find(guildId, botId)) return null;
    if (await this.storage.bans.find(guildId, botId))
      throw new ForbiddenError('This bot is banned from this guild', 40007);
    const member: MemberRecord = { guildId, userId: botId, nick: null, roles: [], joinedAt: Date.now() };
    await this.storage.members.add(member);
    const user = await this.users.one(botId);
    if (!user) throw unknown('user');
    const dto = toMember(member, user);
    this.bus.publish({
      type: 'GUILD_MEMBER_ADD',
      scope: { kind: 'guild', id: guildId },
      data: dto,
      routing: { guildId, userId: botId },
    });
    const guild = await this.storage.guilds.findById(guildId);
    if (guild) {
      const roles = await this.storage.roles.list(guildId);
      this.bus.publish({
        type: 'GUILD_CREATE',
        scope: { kind: 'user', id: botId },
        data: await this.guilds.full(this.access.build(guild, member, roles)),
        routing: { guildId, userId: botId, memberRoles: member.roles },
      });
    }
    return dto;
  }

  /** Discord's `PUT|DELETE /guilds/:id/members/:user_id/roles/:role_id`: one role, same checks as a PATCH. */
  async changeRole(guildId: string, userId: string, targetId: string, roleId: string, add: boolean) {
    const target = isSnowflake(targetId) ? await this.storage.members.find(guildId, targetId) : null;
    if (!target) {
      await this.access.guild(guildId, userId);
      throw unknown('member');
    }
    const roles = add ? [...new Set([...target.roles, roleId])] : target.roles.filter((id) => id !== roleId);
    if (!add && roles.length === target.roles.length) {
      const access = await this.access.guild(guildId, userId);
      if (!access.roles.some((r) => r.id === roleId)) throw unknown('role');
    }
    await this.update(guildId, userId, targetId, { roles });
  }

  async list(guildId: string, userId: string, limit: number, after?: string): Promise<MemberDto[]> {
    await this.access.guild(guildId, userId);
    const members = await this.storage.members.list(guildId, { limit, after });
    const users = await this.users.many(members.map((m) => m.userId));
    return members.flatMap((m) => {
      const user = users.get(m.userId);
      return user ? [toMember(m, user)] : [];
    });
  }

  async get(guildId: string, userId: string, targetId: string): Promise<MemberDto> {
    await this.access.guild(guildId, userId);
    const member = isSnowflake(targetId) ? await this.storage.members.find(guildId, targetId) : null;
    const user = member && (await this.users.one(member.userId));
    if (!member || !user) throw unknown('member');
    return toMember(member, user);
  }

  async update(
    guildId: string,
    userId: string,
    targetId: string,
    patch: { nick?: string | null; roles?: string[]; communication_disabled_until?: string | null },
    reason: string | null = null,
  ): Promise<MemberDto> {
    const access = await this.access.guild(guildId, userId);
    if (!isSnowflake(targetId)) throw unknown('member');
    const self = targetId === userId;
    let target = self ? access.member : await this.storage.members.find(guildId, targetId);
    if (!target) throw unknown('member');
    const change: { nick?: string | null; roles?: string[]; communicationDisabledUntil?: number | null } = {};
    if (patch.nick !== undefined) {
      if (!self) {
        if (!PermissionCalculator.has(access.permissions, Permission.MANAGE_GUILD))
          throw new ForbiddenError();
        target = await this.access.requireAbove(access, targetId);
      }
      change.nick = patch.nick;
    }
    if (patch.roles !== undefined) {
      if (!PermissionCalculator.has(access.permissions, Permission.MANAGE_ROLES)) throw new ForbiddenError();
      const wanted = [...new Set(patch.roles)];
      const known = new Map(access.roles.map((r) => [r.id, r]));
      const before = new Set(target.roles);
      for (const roleId of wanted) {
        const role = known.get(roleId);
        if (!role || roleId === guildId) throw unknown('role');
      }
      const changed = [
        ...wanted.filter((id) => !before.has(id)),
        ...target.roles.filter((id) => !wanted.includes(id)),
      ];
      for (const roleId of changed) {
        const role = known.get(roleId);
        if (role && role.position >= access.topPosition)
          throw new ForbiddenError('Cannot assign a role at or above your highest role');
      }
      change.roles = wanted;
    }
    if (patch.communication_disabled_until !== undefined) {
      if (!PermissionCalculator.has(access.permissions, Permission.MODERATE_MEMBERS))
        throw new ForbiddenError();
      if (self) throw new ForbiddenError('You cannot time yourself out');
      target = await this.access.requireAbove(access, targetId);
      change.communicationDisabledUntil = timeoutEnd(patch.communication_disabled_until, Date.now());
      if (change.communicationDisabledUntil !== null && (await this.isAdministrator(access.guild.id, target)))
        throw new ForbiddenError('Administrators cannot be timed out');
    }
    if (Object.keys(change).length > 0) await this.storage.members.update(guildId, targetId, change);
    const updated: MemberRecord = { ...target, ...change };
    const user = await this.users.one(targetId);
    if (!user) throw unknown('member');
    const dto = toMember(updated, user);
    this.bus.publish({
      type: 'GUILD_MEMBER_UPDATE',
      scope: { kind: 'guild', id: guildId },
      data: dto,
      routing: change.roles ? { guildId, userId: targetId } : undefined,
    });
    this.recordUpdate(guildId, userId, target, updated, reason);
    return dto;
  }

  /** MEMBER_UPDATE for nick and timeout changes, MEMBER_ROLE_UPDATE for roles, as Discord logs them. */
  private recordUpdate(
    guildId: string,
    userId: string,
    before: MemberRecord,
    after: MemberRecord,
    reason: string | null,
  ): void {
    const now = Date.now();
    const view = (m: MemberRecord) => ({
      nick: m.nick ?? undefined,
      communication_disabled_until: timedOutUntil(m, now) ?? undefined,
    });
    const changes = changesOf(view(before), view(after), ['nick', 'communication_disabled_until']);
    const targetId = after.userId;
    if (changes.length > 0)
      this.audit.record({
        guildId,
        userId,
        actionType: AuditLogEvent.MEMBER_UPDATE,
        targetId,
        changes,
        reason,
      });
    const added = after.roles.filter((id) => !before.roles.includes(id));
    const removed = before.roles.filter((id) => !after.roles.includes(id));
    if (added.length + removed.length === 0) return;
    const roleChanges = [];
    if (added.length > 0) roleChanges.push({ key: '$add', new_value: added.map((id) => ({ id })) });
    if (removed.length > 0) roleChanges.push({ key: '$remove', new_value: removed.map((id) => ({ id })) });
    this.audit.record({
      guildId,
      userId,
      actionType: AuditLogEvent.MEMBER_ROLE_UPDATE,
      targetId,
      changes: roleChanges,
      reason,
    });
  }

  /** Whether the member holds ADMINISTRATOR (or owns the guild): Discord refuses to time them out. */
  private async isAdministrator(guildId: string, member: MemberRecord): Promise<boolean> {
    const access = await this.access.guild(guildId, member.userId);
    return PermissionCalculator.has(access.permissions, Permission.ADMINISTRATOR);
  }

  async kick(guildId: string, userId: string, targetId: string, reason: string | null = null): Promise<void> {
    const access = await this.access.requireGuild(guildId, userId, Permission.KICK_MEMBERS);
    if (!isSnowflake(targetId)) throw unknown('member');
    await this.access.requireAbove(access, targetId);
    await this.remove(guildId, targetId);
    this.audit.record({ guildId, userId, actionType: AuditLogEvent.MEMBER_KICK, targetId, reason });
  }

  async leave(guildId: string, userId: string): Promise<void> {
    const access = await this.access.guild(guildId, userId);
    if (access.guild.ownerId === userId) {
      throw new BadRequestError('The owner cannot leave the guild; transfer ownership or delete it', 50055);
    }
    await this.remove(guildId, userId);
  }

  /** Removes a membership and announces it; the caller has checked the permission (kick, ban, leave). */
  async remove(guildId: string, targetId: string): Promise<void> {
    await this.storage.members.remove(guildId, targetId);
    const user = await this.users.one(targetId);
    this.bus.publish({
      type: 'GUILD_MEMBER_REMOVE',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId, user: user ?? { id: targetId } },
      routing: { guildId, userId: targetId, removedFromGuild: true },
    });
    this.bus.publish({
      type: 'GUILD_DELETE',
      scope: { kind: 'user', id: targetId },
      data: { id: guildId },
      routing: { guildId, userId: targetId, removedFromGuild: true },
    });
  }
}

/** Discord's longest timeout. */
export const MAX_TIMEOUT_MS = 28 * 86_400_000;

/** A requested timeout end as epoch ms (null lifts it); past or beyond 28 days is refused as Discord does. */
function timeoutEnd(value: string | null, now: number): number | null {
  if (value === null) return null;
  const until = Date.parse(value);
  if (until <= now) return null; // a time already passed lifts the timeout
  if (until > now + MAX_TIMEOUT_MS) {
    const message = 'A timeout can last at most 28 days';
    const err = new BadRequestError(message);
    err.errors = { communication_disabled_until: [{ code: 'BASE_TYPE_INVALID', message }] };
    throw err;
  }
  return until;
}
