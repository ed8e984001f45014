import {
  type OverwriteBits,
  Permission,
  PermissionCalculator,
  type PermissionSubject,
} from '@parley/common/permissions';
import type { ChannelDto, GuildFullDto, MemberDto, RoleDto } from '@parley/common/protocol';

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

/**
 * A member's name colour as Discord shows it: the colour of the highest role they hold that has one (by
 * position; at equal positions the older role, the lower id). 0 when none has a colour.
 */
export function roleColor(roles: readonly RoleDto[], memberRoleIds: readonly string[] | undefined): number {
  if (!memberRoleIds || memberRoleIds.length === 0) return 0;
  const held = new Set(memberRoleIds);
  let best: RoleDto | undefined;
  for (const role of roles) {
    if (role.color === 0 || !held.has(role.id)) continue;
    if (
      !best ||
      role.position > best.position ||
      (role.position === best.position && BigInt(role.id) < BigInt(best.id))
    )
      best = role;
  }
  return best?.color ?? 0;
}

/** A role colour as CSS, or undefined for none (the name keeps the theme's colour). */
export function colorStyle(color: number): { color: string } | undefined {
  return color === 0 ? undefined : { color: `#${color.toString(16).padStart(6, '0')}` };
}
