import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  BadRequestError,
  ChannelType,
  DEFAULT_EVERYONE_PERMISSIONS,
  ForbiddenError,
  type GuildDto,
  type GuildFullDto,
  type InviteDto,
  type MemberDto,
  Permission,
  PermissionCalculator,
  type RoleDto,
  SnowflakeGenerator,
  type BanDto,
  isSnowflake,
  parsePermissions,
  unknown,
  wrongChannelType,
} from '@parley/common';
import { EVENT_BUS, type EventBus, JOB_QUEUE, type JobQueue } from '@parley/bus';
import {
  type ChannelRecord,
  type GuildRecord,
  type MemberRecord,
  type RoleRecord,
  STORAGE,
  type Storage,
  UniqueViolation,
} from '@parley/storage';
import { AccessService, type GuildAccess } from './access.service';
import { toBan, toChannel, toGuild, toInvite, toMember, toRole } from './serializers';
import { UserDirectory } from './users.directory';

const INVITE_ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

@Injectable()
export class GuildService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    private readonly ids: SnowflakeGenerator,
    private readonly access: AccessService,
    private readonly users: UserDirectory,
  ) {}

  // --- guilds -------------------------------------------------------------------------------

  async create(ownerId: string, name: string): Promise<GuildFullDto> {
    const now = Date.now();
    const guild: GuildRecord = { id: this.ids.next(), name, icon: null, ownerId, createdAt: now };
    const everyone: RoleRecord = {
      id: guild.id,
      guildId: guild.id,
      name: '@everyone',
      permissions: DEFAULT_EVERYONE_PERMISSIONS.toString(),
      color: 0,
      position: 0,
    };
    const general: ChannelRecord = {
      id: this.ids.next(),
      type: ChannelType.TEXT,
      guildId: guild.id,
      name: 'general',
      topic: null,
      parentId: null,
      position: 0,
      recipients: [],
      overwrites: [],
    };
    const owner: MemberRecord = { guildId: guild.id, userId: ownerId, nick: null, roles: [], joinedAt: now };
    await this.storage.guilds.createWithDefaults(guild, everyone, [general], owner);
    const full: GuildFullDto = {
      ...toGuild(guild),
      channels: [toChannel(general, null)],
      roles: [toRole(everyone)],
    };
    this.bus.publish({
      type: 'GUILD_CREATE',
      scope: { kind: 'user', id: ownerId },
      data: full,
      routing: { guildId: guild.id, userId: ownerId },
    });
    return full;
  }

  async get(guildId: string, userId: string): Promise<GuildFullDto> {
    const access = await this.access.guild(guildId, userId);
    return this.full(access);
  }

  /** The guild with its roles and the channels this member can see. */
  async full(access: GuildAccess): Promise<GuildFullDto> {
    const channels = (await this.storage.channels.listByGuild(access.guild.id)).filter((c) =>
      PermissionCalculator.has(this.access.channelPermissions(access, c), Permission.VIEW_CHANNEL),
    );
    const last = await this.storage.messages.lastMessageIds(channels.map((c) => c.id));
    return {
      ...toGuild(access.guild),
      roles: access.roles.map(toRole),
      channels: channels.map((c) => toChannel(c, last.get(c.id) ?? null)),
    };
  }

  async listForUser(userId: string): Promise<GuildDto[]> {
    const ids = await this.storage.members.listGuildIds(userId);
    return (await this.storage.guilds.findByIds(ids)).map(toGuild);
  }

  async update(
    guildId: string,
    userId: string,
    patch: { name?: string; owner_id?: string },
  ): Promise<GuildDto> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    const change: { name?: string; ownerId?: string } = {};
    if (patch.name !== undefined) change.name = patch.name;
    if (patch.owner_id !== undefined && patch.owner_id !== access.guild.ownerId) {
      if (userId !== access.guild.ownerId) throw new ForbiddenError('Only the owner can transfer the guild');
      if (!isSnowflake(patch.owner_id) || !(await this.storage.members.find(guildId, patch.owner_id)))
        throw unknown('member');
      change.ownerId = patch.owner_id;
    }
    if (Object.keys(change).length > 0) await this.storage.guilds.update(guildId, change);
    const dto = toGuild({ ...access.guild, ...change });
    this.bus.publish({
      type: 'GUILD_UPDATE',
      scope: { kind: 'guild', id: guildId },
      data: dto,
      routing: { guildId },
    });
    return dto;
  }

  async delete(guildId: string, userId: string): Promise<void> {
    const access = await this.access.guild(guildId, userId);
    if (access.guild.ownerId !== userId) throw new ForbiddenError('Only the owner can delete the guild');
    const channels = await this.storage.channels.listByGuild(guildId);
    // The purge job is queued first: if the process dies after it, the job still removes the messages.
    await this.jobs.enqueue('guild.purge_messages', {
      guild_id: guildId,
      channel_ids: channels.map((c) => c.id),
    });
    await this.jobs.enqueue('media.purge_channels', {
      guild_id: guildId,
      channel_ids: channels.map((c) => c.id),
    });
    await this.storage.guilds.delete(guildId);
    this.bus.publish({
      type: 'GUILD_DELETE',
      scope: { kind: 'guild', id: guildId },
      data: { id: guildId },
      routing: { guildId, removedFromGuild: true },
    });
  }

  async leave(guildId: string, userId: string): Promise<void> {
    const access = await this.access.guild(guildId, userId);
    if (access.guild.ownerId === userId) {
      throw new BadRequestError('The owner cannot leave the guild; transfer ownership or delete it', 50055);
    }
    await this.removeMember(guildId, userId);
  }

  // --- members ------------------------------------------------------------------------------

  async listMembers(guildId: string, userId: string, limit: number, after?: string): Promise<MemberDto[]> {
    await this.access.guild(guildId, userId);
    const members = await this.storage.members.list(guildId, { limit, after });
    const users = await this.users.many(members.map((m) => m.userId));
    return members.flatMap((m) => {
      const user = users.get(m.userId);
      return user ? [toMember(m, user)] : [];
    });
  }

  async getMember(guildId: string, userId: string, targetId: string): Promise<MemberDto> {
    await this.access.guild(guildId, userId);
    const member = isSnowflake(targetId) ? await this.storage.members.find(guildId, targetId) : null;
    const user = member && (await this.users.one(member.userId));
    if (!member || !user) throw unknown('member');
    return toMember(member, user);
  }

  async updateMember(
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
        this.require(access, Permission.MANAGE_GUILD);
        target = await this.access.requireAbove(access, targetId);
      }
      change.nick = patch.nick;
    }
    if (patch.roles !== undefined) {
      this.require(access, Permission.MANAGE_ROLES);
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
    await this.removeMember(guildId, targetId);
  }

  private async removeMember(guildId: string, targetId: string): Promise<void> {
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

  // --- bans ---------------------------------------------------------------------------------

  async ban(guildId: string, userId: string, targetId: string, reason: string | null): Promise<void> {
    const access = await this.access.requireGuild(guildId, userId, Permission.BAN_MEMBERS);
    if (!isSnowflake(targetId)) throw unknown('user');
    if (targetId === userId) throw new BadRequestError('You cannot ban yourself');
    const user = await this.users.one(targetId);
    if (!user) throw unknown('user');
    const member = await this.storage.members.find(guildId, targetId);
    if (member) await this.access.requireAbove(access, targetId);
    else if (targetId === access.guild.ownerId) throw new ForbiddenError('The guild owner cannot be banned');
    await this.storage.bans.put({ guildId, userId: targetId, reason, createdAt: Date.now() });
    this.bus.publish({
      type: 'GUILD_BAN_ADD',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId, user },
    });
    if (member) await this.removeMember(guildId, targetId);
  }

  async getBan(guildId: string, userId: string, targetId: string): Promise<BanDto> {
    await this.access.requireGuild(guildId, userId, Permission.BAN_MEMBERS);
    const ban = isSnowflake(targetId) ? await this.storage.bans.find(guildId, targetId) : null;
    if (!ban) throw unknown('ban');
    const user = (await this.users.one(targetId)) ?? {
      id: targetId,
      username: 'deleted_user',
      display_name: null,
      avatar: null,
    };
    return toBan(ban, user);
  }

  async listBans(guildId: string, userId: string, limit: number, after?: string): Promise<BanDto[]> {
    await this.access.requireGuild(guildId, userId, Permission.BAN_MEMBERS);
    const bans = await this.storage.bans.list(guildId, { limit, after });
    const users = await this.users.many(bans.map((b) => b.userId));
    return bans.map((b) =>
      toBan(
        b,
        users.get(b.userId) ?? { id: b.userId, username: 'deleted_user', display_name: null, avatar: null },
      ),
    );
  }

  async unban(guildId: string, userId: string, targetId: string): Promise<void> {
    await this.access.requireGuild(guildId, userId, Permission.BAN_MEMBERS);
    const ban = isSnowflake(targetId) ? await this.storage.bans.find(guildId, targetId) : null;
    if (!ban) throw unknown('ban');
    await this.storage.bans.delete(guildId, targetId);
    const user = await this.users.one(targetId);
    this.bus.publish({
      type: 'GUILD_BAN_REMOVE',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId, user: user ?? { id: targetId } },
    });
  }

  // --- roles --------------------------------------------------------------------------------

  async listRoles(guildId: string, userId: string): Promise<RoleDto[]> {
    const access = await this.access.guild(guildId, userId);
    return access.roles.map(toRole);
  }

  async createRole(
    guildId: string,
    userId: string,
    input: { name?: string; permissions?: string; color?: number; position?: number },
  ): Promise<RoleDto> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_ROLES);
    const permissions = this.grantable(access, input.permissions ?? '0');
    const position = input.position ?? 1;
    if (position >= access.topPosition)
      throw new ForbiddenError('Cannot create a role at or above your highest role');
    const role: RoleRecord = {
      id: this.ids.next(),
      guildId,
      name: input.name ?? 'new role',
      permissions,
      color: input.color ?? 0,
      position: Math.max(1, position),
    };
    await this.storage.roles.create(role);
    const dto = toRole(role);
    this.bus.publish({
      type: 'GUILD_ROLE_CREATE',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId, role: dto },
    });
    return dto;
  }

  async updateRole(
    guildId: string,
    userId: string,
    roleId: string,
    patch: { name?: string; permissions?: string; color?: number; position?: number },
  ): Promise<RoleDto> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_ROLES);
    const role = access.roles.find((r) => r.id === roleId);
    if (!role) throw unknown('role');
    const isEveryone = roleId === guildId;
    if (!isEveryone && role.position >= access.topPosition)
      throw new ForbiddenError('Cannot edit a role at or above your highest role');
    if (isEveryone && (patch.name !== undefined || patch.position !== undefined)) {
      throw new BadRequestError('The @everyone role can only change its permissions and color');
    }
    const change: Partial<RoleRecord> = {};
    if (patch.name !== undefined) change.name = patch.name;
    if (patch.color !== undefined) change.color = patch.color;
    if (patch.permissions !== undefined)
      change.permissions = this.grantable(access, patch.permissions, role.permissions);
    if (patch.position !== undefined) {
      if (patch.position >= access.topPosition)
        throw new ForbiddenError('Cannot move a role at or above your highest role');
      change.position = Math.max(1, patch.position);
    }
    if (Object.keys(change).length > 0) await this.storage.roles.update(guildId, roleId, change);
    const dto = toRole({ ...role, ...change });
    this.bus.publish({
      type: 'GUILD_ROLE_UPDATE',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId, role: dto },
      routing: { guildId },
    });
    return dto;
  }

  async deleteRole(guildId: string, userId: string, roleId: string): Promise<void> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_ROLES);
    const role = access.roles.find((r) => r.id === roleId);
    if (!role) throw unknown('role');
    if (roleId === guildId) throw new BadRequestError('The @everyone role cannot be deleted');
    if (role.position >= access.topPosition)
      throw new ForbiddenError('Cannot delete a role at or above your highest role');
    await this.storage.roles.delete(guildId, roleId);
    this.bus.publish({
      type: 'GUILD_ROLE_DELETE',
      scope: { kind: 'guild', id: guildId },
      data: { guild_id: guildId, role_id: roleId },
      routing: { guildId },
    });
  }

  /** Nobody grants what they do not hold (owners and administrators hold everything). */
  private grantable(access: GuildAccess, requested: string, current = '0'): string {
    const wanted = parsePermissions(requested);
    const added = wanted & ~BigInt(current);
    if ((added & access.permissions) !== added)
      throw new ForbiddenError('Cannot grant permissions you do not have');
    return wanted.toString();
  }

  private require(access: GuildAccess, bit: bigint): void {
    if (!PermissionCalculator.has(access.permissions, bit)) throw new ForbiddenError();
  }

  // --- invites ------------------------------------------------------------------------------

  async createInvite(
    channelId: string,
    userId: string,
    input: { max_age: number; max_uses: number },
  ): Promise<InviteDto> {
    const access = await this.access.requireChannel(channelId, userId, Permission.CREATE_INSTANT_INVITE);
    if (access.channel.type === ChannelType.CATEGORY) throw wrongChannelType('other');
    if (!access.guild) throw new BadRequestError('Invites exist only for guild channels', 50024);
    const now = Date.now();
    const base = {
      guildId: access.guild.guild.id,
      channelId,
      inviterId: userId,
      maxAge: input.max_age,
      maxUses: input.max_uses,
      uses: 0,
      createdAt: now,
    };
    const expiresAt = input.max_age > 0 ? now + input.max_age * 1000 : null;
    for (let attempt = 0; ; attempt++) {
      const invite = { ...base, code: inviteCode(), expiresAt };
      try {
        await this.storage.invites.create(invite);
        return toInvite(invite, access.guild.guild, access.channel, await this.users.one(userId));
      } catch (err) {
        if (!(err instanceof UniqueViolation) || attempt >= 4) throw err;
      }
    }
  }

  async listInvites(guildId: string, userId: string): Promise<InviteDto[]> {
    const access = await this.access.requireGuild(guildId, userId, Permission.MANAGE_GUILD);
    const now = Date.now();
    const invites = (await this.storage.invites.listByGuild(guildId)).filter(
      (i) => i.expiresAt === null || i.expiresAt > now,
    );
    const inviters = await this.users.many(invites.map((i) => i.inviterId));
    const channels = new Map((await this.storage.channels.listByGuild(guildId)).map((c) => [c.id, c]));
    return invites.map((i) =>
      toInvite(i, access.guild, channels.get(i.channelId) ?? null, inviters.get(i.inviterId) ?? null),
    );
  }

  async getInvite(code: string): Promise<InviteDto> {
    const invite = await this.liveInvite(code);
    const [guild, channel, inviter] = await Promise.all([
      this.storage.guilds.findById(invite.guildId),
      this.storage.channels.findById(invite.channelId),
      this.users.one(invite.inviterId),
    ]);
    if (!guild) throw unknown('invite');
    return toInvite(invite, guild, channel, inviter);
  }

  async acceptInvite(code: string, userId: string): Promise<InviteDto & { new_member: boolean }> {
    const invite = await this.liveInvite(code);
    const guild = await this.storage.guilds.findById(invite.guildId);
    if (!guild) throw unknown('invite');
    const channel = await this.storage.channels.findById(invite.channelId);
    const inviter = await this.users.one(invite.inviterId);
    if (await this.storage.members.find(guild.id, userId)) {
      return { ...toInvite(invite, guild, channel, inviter), new_member: false };
    }
    if (await this.storage.bans.find(guild.id, userId))
      throw new ForbiddenError('You are banned from this guild', 40007);
    if (!(await this.storage.invites.use(code, Date.now()))) throw unknown('invite');
    const member: MemberRecord = { guildId: guild.id, userId, nick: null, roles: [], joinedAt: Date.now() };
    await this.storage.members.add(member);
    const user = await this.users.one(userId);
    if (user) {
      this.bus.publish({
        type: 'GUILD_MEMBER_ADD',
        scope: { kind: 'guild', id: guild.id },
        data: toMember(member, user),
        routing: { guildId: guild.id, userId },
      });
    }
    const roles = await this.storage.roles.list(guild.id);
    const full = await this.full(this.access.build(guild, member, roles));
    this.bus.publish({
      type: 'GUILD_CREATE',
      scope: { kind: 'user', id: userId },
      data: full,
      routing: { guildId: guild.id, userId },
    });
    return { ...toInvite({ ...invite, uses: invite.uses + 1 }, guild, channel, inviter), new_member: true };
  }

  async deleteInvite(code: string, userId: string): Promise<InviteDto> {
    const invite = await this.storage.invites.find(code);
    if (!invite) throw unknown('invite');
    const access = await this.access.guild(invite.guildId, userId).catch(() => {
      throw unknown('invite');
    });
    const channel = await this.storage.channels.findById(invite.channelId);
    const canManage =
      PermissionCalculator.has(access.permissions, Permission.MANAGE_GUILD) ||
      (channel !== null &&
        PermissionCalculator.has(
          this.access.channelPermissions(access, channel),
          Permission.MANAGE_CHANNELS,
        ));
    if (!canManage) throw new ForbiddenError();
    await this.storage.invites.delete(code);
    return toInvite(invite, access.guild, channel, await this.users.one(invite.inviterId));
  }

  private async liveInvite(code: string) {
    if (!/^[A-Za-z0-9]{1,32}$/.test(code)) throw unknown('invite');
    const invite = await this.storage.invites.find(code);
    const now = Date.now();
    if (
      !invite ||
      (invite.expiresAt !== null && invite.expiresAt <= now) ||
      (invite.maxUses > 0 && invite.uses >= invite.maxUses)
    ) {
      throw unknown('invite');
    }
    return invite;
  }
}

function inviteCode(): string {
  const bytes = randomBytes(10);
  let code = '';
  for (const byte of bytes) code += INVITE_ALPHABET[byte % INVITE_ALPHABET.length];
  return code;
}
