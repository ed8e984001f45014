import {
  type OverwriteBits,
  Permission,
  PermissionCalculator,
  type PermissionSubject,
} from '@parley/common/permissions';
import type { ChannelDto, GuildFullDto, MemberDto } from '@parley/common/protocol';

export { Permission };

function subject(guild: GuildFullDto, userId: string, member: MemberDto | undefined): PermissionSubject {
  return {
    guildId: guild.id,
    ownerId: guild.owner_id,
    userId,
    rolePermissions: new Map(guild.roles.map((r) => [r.id, BigInt(r.permissions)])),
    memberRoleIds: member?.roles ?? [],
  };
}

/** The same calculation the server makes (shared code); only decides what the UI offers. */
export function guildPermissions(guild: GuildFullDto, userId: string, member: MemberDto | undefined): bigint {
  return PermissionCalculator.base(subject(guild, userId, member));
}

export function channelPermissions(
  guild: GuildFullDto,
  channel: ChannelDto,
  userId: string,
  member: MemberDto | undefined,
): bigint {
  const overwrites: OverwriteBits[] = (channel.permission_overwrites ?? []).map((o) => ({
    id: o.id,
    type: o.type,
    allow: BigInt(o.allow),
    deny: BigInt(o.deny),
  }));
  return PermissionCalculator.channel(subject(guild, userId, member), overwrites);
}

export const has = (perms: bigint, bit: bigint) => PermissionCalculator.has(perms, bit);
