import type { DomainEvent } from '@parley/bus';
import {
  type OverwriteBits,
  Permission,
  PermissionCalculator,
  type PermissionSubject,
  parsePermissions,
} from '@parley/common';
import type { ChannelRecord, GuildRecord, MemberRecord, OverwriteRecord, RoleRecord } from '@parley/storage';

/** A guild as storage holds it, read once when a node first needs the guild. */
export interface GuildShape {
  guild: GuildRecord;
  roles: RoleRecord[];
  channels: ChannelRecord[];
}

/**
 * Whose view of the guild an applied event may have changed. `null` from `apply`: nothing that decides
 * visibility changed (a rename, a role's colour, a nickname), so nobody's view is recomputed.
 */
export interface Impact {
  /** Every member's view (a role's permissions, a role deleted). */
  everyone?: boolean;
  /** Only these users' views (their roles, joining or leaving, ownership). */
  userIds?: string[];
  /** Only this channel, for every member (its overwrites, created or deleted). */
  channelId?: string;
  /** The guild itself was deleted. */
  gone?: boolean;
}

interface MemberEntry {
  /** Role ids without @everyone; null: not a member. */
  roles: string[] | null;
  /** Set from an event: a storage read never overwrites it (it may predate the event, e.g. in another region). */
  fromEvent: boolean;
}

interface ChannelEntry {
  record: ChannelRecord;
  bits: OverwriteBits[];
}

function bitsOf(overwrites: readonly OverwriteRecord[]): OverwriteBits[] {
  return overwrites.map((o) => ({ id: o.id, type: o.type, allow: BigInt(o.allow), deny: BigInt(o.deny) }));
}

function sameBits(a: readonly OverwriteBits[], b: readonly OverwriteBits[]): boolean {
  if (a.length !== b.length) return false;
  const key = (o: OverwriteBits) => `${o.type}:${o.id}:${o.allow}:${o.deny}`;
  const left = new Set(a.map(key));
  return b.every((o) => left.has(key(o)));
}

function sameRoles(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  const left = new Set(a);
  return b.every((id) => left.has(id));
}

const isString = (v: unknown): v is string => typeof v === 'string';

/** A channel as events carry it (the REST shape) back into the record the model keeps. */
function channelRecordOf(dto: Record<string, unknown>, guildId: string): ChannelRecord | null {
  if (!isString(dto.id)) return null;
  const raw = Array.isArray(dto.permission_overwrites) ? (dto.permission_overwrites as unknown[]) : [];
  const overwrites: OverwriteRecord[] = [];
  for (const o of raw) {
    const ow = o as { id?: unknown; type?: unknown; allow?: unknown; deny?: unknown } | null;
    if (!ow || !isString(ow.id) || (ow.type !== 0 && ow.type !== 1)) continue;
    overwrites.push({
      channelId: dto.id,
      id: ow.id,
      type: ow.type,
      allow: isString(ow.allow) ? ow.allow : '0',
      deny: isString(ow.deny) ? ow.deny : '0',
    });
  }
  return {
    id: dto.id,
    type: typeof dto.type === 'number' ? dto.type : 0,
    guildId,
    name: isString(dto.name) ? dto.name : null,
    topic: isString(dto.topic) ? dto.topic : null,
    parentId: isString(dto.parent_id) ? dto.parent_id : null,
    position: typeof dto.position === 'number' ? dto.position : 0,
    recipients: [],
    overwrites,
    ...(typeof dto.rate_limit_per_user === 'number' && dto.rate_limit_per_user > 0
      ? { rateLimitPerUser: dto.rate_limit_per_user }
      : {}),
  };
}

/**
 * One guild's permission inputs in a gateway node's memory: its owner, its roles' permissions, its channels with
 * their overwrites, and the memberships of the users the node serves (plus any an event told it about). Read
 * from storage once, when the node first has a session in the guild; from then on every change comes from the
 * events' own payloads (a member update carries the member's roles, a role update its permissions, a channel
 * update its overwrites), so routing never re-reads storage and never trusts a read older than an event: a
 * membership an event set is never overwritten by a storage read. `version` counts the changes applied.
 */
export class GuildModel {
  version = 0;
  private ownerId: string;
  private readonly roles = new Map<string, bigint>();
  private readonly channels = new Map<string, ChannelEntry>();
  private readonly members = new Map<string, MemberEntry>();

  constructor(shape: GuildShape) {
    this.ownerId = shape.guild.ownerId;
    for (const r of shape.roles) this.roles.set(r.id, parsePermissions(r.permissions));
    for (const c of shape.channels) this.channels.set(c.id, { record: c, bits: bitsOf(c.overwrites) });
    this.id = shape.guild.id;
  }

  readonly id: string;

  get owner(): string {
    return this.ownerId;
  }

  channel(id: string): ChannelRecord | undefined {
    return this.channels.get(id)?.record;
  }

  /** Whether the model knows the user's membership (either way). */
  knowsMember(userId: string): boolean {
    return this.members.has(userId);
  }

  /** The member's roles, or null if not a member; undefined when unknown. */
  memberRoles(userId: string): readonly string[] | null | undefined {
    return this.members.get(userId)?.roles;
  }

  /** A storage read of a membership; ignored when an event already said what it is. */
  fillMember(userId: string, member: MemberRecord | null): boolean {
    if (this.members.get(userId)?.fromEvent) return false;
    this.members.set(userId, { roles: member ? [...member.roles] : null, fromEvent: false });
    return true;
  }

  /** Forgets a membership read from storage (its user has no session here any more). */
  forgetMember(userId: string): void {
    if (this.members.get(userId)?.fromEvent === false) this.members.delete(userId);
  }

  /** The channels the user may view, or null when not a member (or unknown). */
  visibleChannels(userId: string, only?: string): Set<string> | null {
    const roles = this.members.get(userId)?.roles;
    if (!roles) return null;
    const subject: PermissionSubject = {
      guildId: this.id,
      ownerId: this.ownerId,
      userId,
      rolePermissions: this.roles,
      memberRoleIds: roles,
    };
    const base = PermissionCalculator.base(subject);
    const out = new Set<string>();
    const check = (id: string, entry: ChannelEntry) => {
      const perms = PermissionCalculator.applyOverwritesFor(subject, base, entry.bits);
      if (PermissionCalculator.has(perms, Permission.VIEW_CHANNEL)) out.add(id);
    };
    if (only !== undefined) {
      const entry = this.channels.get(only);
      if (entry) check(only, entry);
    } else for (const [id, entry] of this.channels) check(id, entry);
    return out;
  }

  /**
   * Users whose view depends on their id beyond their roles (the owner, and those a member overwrite names):
   * everyone else with the same roles sees the same channels, so their view may be computed once.
   */
  personalIds(): Set<string> {
    const ids = new Set<string>([this.ownerId]);
    for (const entry of this.channels.values()) for (const o of entry.bits) if (o.type === 1) ids.add(o.id);
    return ids;
  }

  /** Applies an event of this guild to the model; says whose view may have changed, or null. */
  apply(event: DomainEvent): Impact | null {
    const data = (event.data ?? {}) as Record<string, unknown>;
    // Only permission inputs matter here; every other event type changes nothing the model holds.
    const type: string = event.type;
    switch (type) {
      case 'GUILD_UPDATE': {
        const owner = data.owner_id;
        if (!isString(owner) || owner === this.ownerId) return null;
        const before = this.ownerId;
        this.ownerId = owner;
        return this.changed({ userIds: [before, owner] });
      }
      case 'GUILD_DELETE':
        // On a user's scope: that member left (or was removed); on the guild's: the guild is gone.
        if (event.scope.kind === 'user') return this.setMember(event.scope.id, null);
        return this.changed({ gone: true });
      case 'GUILD_CREATE': {
        // Sent to a member who joined: it carries the guild's owner and every role; the member's own roles
        // come with the routing hint.
        if (isString(data.owner_id)) this.ownerId = data.owner_id;
        if (Array.isArray(data.roles))
          for (const r of data.roles as Array<{ id?: unknown; permissions?: unknown }>)
            if (isString(r?.id) && isString(r.permissions))
              this.roles.set(r.id, parsePermissions(r.permissions));
        const userId = event.routing?.userId ?? (event.scope.kind === 'user' ? event.scope.id : undefined);
        if (!userId) return null;
        const roles = event.routing?.memberRoles ?? this.members.get(userId)?.roles ?? [];
        this.members.set(userId, { roles: [...roles], fromEvent: true });
        return this.changed({ userIds: [userId] });
      }
      case 'GUILD_ROLE_CREATE':
      case 'GUILD_ROLE_UPDATE': {
        const role = data.role as { id?: unknown; permissions?: unknown } | undefined;
        if (!isString(role?.id) || !isString(role.permissions)) return null;
        const permissions = parsePermissions(role.permissions);
        if (this.roles.get(role.id) === permissions) return null;
        const held = this.heldHere(role.id);
        this.roles.set(role.id, permissions);
        return this.changed(held ? { everyone: true } : null);
      }
      case 'GUILD_ROLE_DELETE': {
        const roleId = data.role_id;
        if (!isString(roleId)) return null;
        // As storage does: the role leaves the members holding it and the channels' overwrites.
        const held = this.heldHere(roleId);
        this.roles.delete(roleId);
        for (const entry of this.members.values())
          if (entry.roles?.includes(roleId)) entry.roles = entry.roles.filter((id) => id !== roleId);
        for (const entry of this.channels.values())
          if (entry.bits.some((o) => o.type === 0 && o.id === roleId)) {
            entry.bits = entry.bits.filter((o) => !(o.type === 0 && o.id === roleId));
            entry.record = {
              ...entry.record,
              overwrites: entry.record.overwrites.filter((o) => !(o.type === 0 && o.id === roleId)),
            };
          }
        return this.changed(held ? { everyone: true } : null);
      }
      case 'CHANNEL_CREATE':
      case 'CHANNEL_UPDATE': {
        const record = channelRecordOf(data, this.id);
        if (!record) return null;
        const bits = bitsOf(record.overwrites);
        const current = this.channels.get(record.id);
        this.channels.set(record.id, { record, bits });
        if (current && sameBits(current.bits, bits)) return null;
        return this.changed({ channelId: record.id });
      }
      case 'CHANNEL_DELETE': {
        if (!isString(data.id) || !this.channels.delete(data.id)) return null;
        return this.changed({ channelId: data.id });
      }
      case 'GUILD_MEMBER_ADD':
      case 'GUILD_MEMBER_UPDATE': {
        const userId = (data.user as { id?: unknown } | undefined)?.id;
        if (!isString(userId) || !Array.isArray(data.roles)) return null;
        return this.setMember(userId, (data.roles as unknown[]).filter(isString));
      }
      case 'GUILD_MEMBER_REMOVE': {
        const userId = (data.user as { id?: unknown } | undefined)?.id;
        return isString(userId) ? this.setMember(userId, null) : null;
      }
      default:
        return null;
    }
  }

  private setMember(userId: string, roles: string[] | null): Impact | null {
    const current = this.members.get(userId);
    this.members.set(userId, { roles, fromEvent: true });
    if (current && sameRoles(current.roles, roles)) return null;
    return this.changed({ userIds: [userId] });
  }

  /** Whether anyone whose view this node keeps holds the role (everyone holds @everyone). */
  private heldHere(roleId: string): boolean {
    if (roleId === this.id) return true;
    for (const entry of this.members.values()) if (entry.roles?.includes(roleId)) return true;
    return false;
  }

  /** Counts an applied change; null when it changes no view this node keeps (e.g. a role nobody here holds). */
  private changed<T extends Impact | null>(impact: T): T {
    this.version++;
    return impact;
  }
}
