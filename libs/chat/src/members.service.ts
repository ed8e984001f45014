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
import { toMember } from './serializers';
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
        routing: { guildId, userId: botId },
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
    patch: { nick?: string | null; roles?: string[] },
  ): Promise<MemberDto> {
    const access = await this.access.guild(guildId, userId);
    if (!isSnowflake(targetId)) throw unknown('member');
    const self = targetId === userId;
    let target = self ? access.member : await this.storage.members.find(guildId, targetId);
    if (!target) throw unknown('member');
    const change: { nick?: string | null; roles?: string[] } = {};
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
    return dto;
  }

  async kick(guildId: string, userId: string, targetId: string): Promise<void> {
    const access = await this.access.requireGuild(guildId, userId, Permission.KICK_MEMBERS);
    if (!isSnowflake(targetId)) throw unknown('member');
    await this.access.requireAbove(access, targetId);
    await this.remove(guildId, targetId);
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
