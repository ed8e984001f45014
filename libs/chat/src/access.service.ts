import { Inject, Injectable } from '@nestjs/common';
import {
  ChannelType,
  ForbiddenError,
  type OverwriteBits,
  Permission,
  PermissionCalculator,
  type PermissionSubject,
  isSnowflake,
  parsePermissions,
  unknown,
} from '@parley/common';
import {
  type ChannelRecord,
  type GuildRecord,
  type MemberRecord,
  type RoleRecord,
  STORAGE,
  type Storage,
} from '@parley/storage';

/** Everything permission checks in one guild need, loaded once per request. */
export interface GuildAccess {
  guild: GuildRecord;
  member: MemberRecord;
  roles: RoleRecord[];
  subject: PermissionSubject;
  permissions: bigint;
  /** Highest role position held (owner: Infinity), for hierarchy checks. */
  topPosition: number;
}

export interface ChannelAccess {
  channel: ChannelRecord;
  guild: GuildAccess | null; // null for DMs
  permissions: bigint;
}

/** What a DM recipient may do: the guild-free subset. */
const DM_PERMISSIONS =
  Permission.VIEW_CHANNEL |
  Permission.SEND_MESSAGES |
  Permission.READ_MESSAGE_HISTORY |
  Permission.ADD_REACTIONS |
  Permission.ATTACH_FILES;

export function overwriteBits(channel: ChannelRecord): OverwriteBits[] {
  return channel.overwrites.map((o) => ({
    id: o.id,
    type: o.type,
    allow: BigInt(o.allow),
    deny: BigInt(o.deny),
  }));
}

/**
 * Resolves who may do what. Unknown and invisible resources both answer 404, so ids of guilds and
 * channels a caller cannot see are never confirmed.
 */
@Injectable()
export class AccessService {
  constructor(@Inject(STORAGE) private readonly storage: Storage) {}

  async guild(guildId: string, userId: string): Promise<GuildAccess> {
    if (!isSnowflake(guildId)) throw unknown('guild');
    const [guild, member] = await Promise.all([
      this.storage.guilds.findById(guildId),
      this.storage.members.find(guildId, userId),
    ]);
    if (!guild || !member) throw unknown('guild');
    const roles = await this.storage.roles.list(guildId);
    return this.build(guild, member, roles);
  }

  build(guild: GuildRecord, member: MemberRecord, roles: RoleRecord[]): GuildAccess {
    const rolePermissions = new Map(roles.map((r) => [r.id, parsePermissions(r.permissions)]));
    const subject: PermissionSubject = {
      guildId: guild.id,
      ownerId: guild.ownerId,
      userId: member.userId,
      rolePermissions,
      memberRoleIds: member.roles,
    };
    const positions = new Map(roles.map((r) => [r.id, r.position]));
    const topPosition =
      guild.ownerId === member.userId
        ? Number.POSITIVE_INFINITY
        : Math.max(0, ...member.roles.map((id) => positions.get(id) ?? 0));
    return { guild, member, roles, subject, permissions: PermissionCalculator.base(subject), topPosition };
  }

  async requireGuild(guildId: string, userId: string, ...bits: bigint[]): Promise<GuildAccess> {
    const access = await this.guild(guildId, userId);
    for (const bit of bits)
      if (!PermissionCalculator.has(access.permissions, bit)) throw new ForbiddenError();
    return access;
  }

  channelPermissions(access: GuildAccess, channel: ChannelRecord): bigint {
    return PermissionCalculator.applyOverwritesFor(
      access.subject,
      access.permissions,
      overwriteBits(channel),
    );
  }

  /** The channel if the caller may see it (VIEW_CHANNEL, or DM recipient); 404 otherwise. */
  async channel(channelId: string, userId: string): Promise<ChannelAccess> {
    if (!isSnowflake(channelId)) throw unknown('channel');
    const channel = await this.storage.channels.findById(channelId);
    if (!channel) throw unknown('channel');
    if (channel.type === ChannelType.DM || channel.guildId === null) {
      if (!channel.recipients.includes(userId)) throw unknown('channel');
      return { channel, guild: null, permissions: DM_PERMISSIONS };
    }
    let guild: GuildAccess;
    try {
      guild = await this.guild(channel.guildId, userId);
    } catch {
      throw unknown('channel');
    }
    const permissions = this.channelPermissions(guild, channel);
    if (!PermissionCalculator.has(permissions, Permission.VIEW_CHANNEL)) throw unknown('channel');
    return { channel, guild, permissions };
  }

  async requireChannel(channelId: string, userId: string, ...bits: bigint[]): Promise<ChannelAccess> {
    const access = await this.channel(channelId, userId);
    for (const bit of bits)
      if (!PermissionCalculator.has(access.permissions, bit)) throw new ForbiddenError();
    return access;
  }

  /** Role hierarchy: the actor must sit above the target (owners above everyone). */
  async requireAbove(access: GuildAccess, targetUserId: string): Promise<MemberRecord> {
    const target = await this.storage.members.find(access.guild.id, targetUserId);
    if (!target) throw unknown('member');
    if (targetUserId === access.guild.ownerId)
      throw new ForbiddenError('The guild owner cannot be acted upon');
    const positions = new Map(access.roles.map((r) => [r.id, r.position]));
    const targetTop = Math.max(0, ...target.roles.map((id) => positions.get(id) ?? 0));
    if (access.topPosition <= targetTop && access.topPosition !== Number.POSITIVE_INFINITY) {
      throw new ForbiddenError("Your highest role must be above the member's highest role");
    }
    return target;
  }
}
