/** Discord's permission bits; serialised as decimal strings on the wire. */
export const Permission = {
  CREATE_INSTANT_INVITE: 1n << 0n,
  KICK_MEMBERS: 1n << 1n,
  BAN_MEMBERS: 1n << 2n,
  ADMINISTRATOR: 1n << 3n,
  MANAGE_CHANNELS: 1n << 4n,
  MANAGE_GUILD: 1n << 5n,
  ADD_REACTIONS: 1n << 6n,
  VIEW_AUDIT_LOG: 1n << 7n,
  VIEW_CHANNEL: 1n << 10n,
  SEND_MESSAGES: 1n << 11n,
  MANAGE_MESSAGES: 1n << 13n,
  ATTACH_FILES: 1n << 15n,
  READ_MESSAGE_HISTORY: 1n << 16n,
  MENTION_EVERYONE: 1n << 17n,
  CONNECT: 1n << 20n,
  SPEAK: 1n << 21n,
  MANAGE_ROLES: 1n << 28n,
  /** Discord's (formerly MANAGE_EMOJIS_AND_STICKERS): create, edit and delete custom emoji. */
  MANAGE_GUILD_EXPRESSIONS: 1n << 30n,
  MANAGE_WEBHOOKS: 1n << 29n,
  MODERATE_MEMBERS: 1n << 40n,
  /** Discord split pinning off MANAGE_MESSAGES in 2025; either lets a member pin (docs/messages.md). */
  PIN_MESSAGES: 1n << 51n,
} as const;

export const ALL_PERMISSIONS = Object.values(Permission).reduce((acc, bit) => acc | bit, 0n);

/** What @everyone gets in a new guild. */
export const DEFAULT_EVERYONE_PERMISSIONS =
  Permission.CREATE_INSTANT_INVITE |
  Permission.ADD_REACTIONS |
  Permission.VIEW_CHANNEL |
  Permission.SEND_MESSAGES |
  Permission.ATTACH_FILES |
  Permission.READ_MESSAGE_HISTORY |
  Permission.CONNECT |
  Permission.SPEAK;

export interface OverwriteBits {
  id: string;
  type: 0 | 1; // 0 role, 1 member
  allow: bigint;
  deny: bigint;
}

export interface PermissionSubject {
  guildId: string;
  ownerId: string;
  userId: string;
  /** Role id -> permission bits, including @everyone (whose id is the guild id). */
  rolePermissions: ReadonlyMap<string, bigint>;
  /** The member's roles, without @everyone. */
  memberRoleIds: readonly string[];
}

/** Computes effective permissions exactly as Discord documents it. */
export class PermissionCalculator {
  static base(subject: PermissionSubject): bigint {
    if (subject.userId === subject.ownerId) return ALL_PERMISSIONS;
    let perms = subject.rolePermissions.get(subject.guildId) ?? 0n;
    for (const roleId of subject.memberRoleIds) perms |= subject.rolePermissions.get(roleId) ?? 0n;
    if (perms & Permission.ADMINISTRATOR) return ALL_PERMISSIONS;
    return perms;
  }

  static channel(subject: PermissionSubject, overwrites: readonly OverwriteBits[]): bigint {
    const base = PermissionCalculator.base(subject);
    if (base & Permission.ADMINISTRATOR) return ALL_PERMISSIONS; // owners and administrators bypass overwrites
    return PermissionCalculator.applyOverwrites(base, subject, overwrites);
  }

  /** Channel permissions from an already computed base (saves recomputing it per channel). */
  static applyOverwritesFor(
    subject: PermissionSubject,
    base: bigint,
    overwrites: readonly OverwriteBits[],
  ): bigint {
    if (base & Permission.ADMINISTRATOR) return ALL_PERMISSIONS;
    return PermissionCalculator.applyOverwrites(base, subject, overwrites);
  }

  static applyOverwrites(
    base: bigint,
    subject: PermissionSubject,
    overwrites: readonly OverwriteBits[],
  ): bigint {
    let perms = base;
    const everyone = overwrites.find((o) => o.type === 0 && o.id === subject.guildId);
    if (everyone) perms = (perms & ~everyone.deny) | everyone.allow;
    let allow = 0n;
    let deny = 0n;
    for (const o of overwrites) {
      if (o.type === 0 && o.id !== subject.guildId && subject.memberRoleIds.includes(o.id)) {
        allow |= o.allow;
        deny |= o.deny;
      }
    }
    perms = (perms & ~deny) | allow;
    const member = overwrites.find((o) => o.type === 1 && o.id === subject.userId);
    if (member) perms = (perms & ~member.deny) | member.allow;
    // Without VIEW_CHANNEL nothing else in the channel applies.
    if (!(perms & Permission.VIEW_CHANNEL)) return 0n;
    return perms;
  }

  static has(perms: bigint, bit: bigint): boolean {
    return (perms & bit) === bit;
  }
}

export function parsePermissions(value: string): bigint {
  return BigInt(value) & ALL_PERMISSIONS;
}
