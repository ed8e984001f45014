import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { type DomainEvent, EVENT_BUS, type EventBus } from '@parley/bus';
import {
  ChannelType,
  ForbiddenError,
  NotFoundError,
  type OverwriteBits,
  Permission,
  PermissionCalculator,
  type PermissionSubject,
  TtlCache,
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
  /** Timed out right now (communication_disabled_until still ahead): permissions are cut to TIMED_OUT_PERMISSIONS. */
  timedOut: boolean;
}

export interface ChannelAccess {
  channel: ChannelRecord;
  guild: GuildAccess | null; // null for DMs
  permissions: bigint;
}

/**
 * What a timed-out member keeps, as in Discord: reading. Applied after overwrites too, so no channel grants more;
 * owners and administrators are never timed out. Checked against the clock on every access, so a timeout ends
 * by itself with no job.
 */
export const TIMED_OUT_PERMISSIONS = Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY;

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

/** What a webhook may do where it posts: send (with embeds and files) and mention anyone, as on Discord. */
const WEBHOOK_PERMISSIONS =
  Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES | Permission.ATTACH_FILES | Permission.MENTION_EVERYONE;

/** A guild with its roles, parsed once for every permission check in it. */
interface GuildContext {
  guild: GuildRecord;
  roles: RoleRecord[];
  rolePermissions: Map<string, bigint>;
  positions: Map<string, number>;
}

/** How long a cached guild, member or channel may serve without its change being announced. */
const CACHE_TTL_MS = 60_000;
const CACHE_MAX_ENTRIES = 50_000;

/**
 * Resolves who may do what. Unknown and invisible resources both answer 404, so ids of guilds and
 * channels a caller cannot see are never confirmed.
 *
 * Every request checks permissions, so the records they need (channel, guild with its roles, member) are cached
 * per process and dropped by the events that announce their change: in the monolith right after the turn of
 * the event loop that made it (before any later request is read), in microservices over NATS within milliseconds. Entries also expire after a minute, which
 * bounds what a lost event (a NATS outage) can cost. Absent records are never cached.
 */
@Injectable()
export class AccessService implements OnModuleDestroy {
  private readonly guilds = new TtlCache<GuildContext>(CACHE_MAX_ENTRIES, CACHE_TTL_MS);
  private readonly members = new TtlCache<MemberRecord>(CACHE_MAX_ENTRIES, CACHE_TTL_MS);
  private readonly channels = new TtlCache<ChannelRecord>(CACHE_MAX_ENTRIES, CACHE_TTL_MS);
  private readonly unsubscribe: () => void;

  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) bus: EventBus,
  ) {
    this.unsubscribe = bus.subscribeInvalidations((event) => this.invalidate(event));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  async guild(guildId: string, userId: string): Promise<GuildAccess> {
    if (!isSnowflake(guildId)) throw unknown('guild');
    const [context, member] = await Promise.all([this.guildContext(guildId), this.member(guildId, userId)]);
    if (!context || !member) throw unknown('guild');
    return this.fromContext(context, member);
  }

  build(guild: GuildRecord, member: MemberRecord, roles: RoleRecord[]): GuildAccess {
    return this.fromContext(contextOf(guild, roles), member);
  }

  private fromContext(context: GuildContext, member: MemberRecord): GuildAccess {
    const { guild, roles, rolePermissions, positions } = context;
    const subject: PermissionSubject = {
      guildId: guild.id,
      ownerId: guild.ownerId,
      userId: member.userId,
      rolePermissions,
      memberRoleIds: member.roles,
    };
    const topPosition =
      guild.ownerId === member.userId
        ? Number.POSITIVE_INFINITY
        : Math.max(0, ...member.roles.map((id) => positions.get(id) ?? 0));
    const base = PermissionCalculator.base(subject);
    const timedOut =
      (member.communicationDisabledUntil ?? 0) > Date.now() &&
      !PermissionCalculator.has(base, Permission.ADMINISTRATOR);
    const permissions = timedOut ? base & TIMED_OUT_PERMISSIONS : base;
    return { guild, member, roles, subject, permissions, topPosition, timedOut };
  }

  private async guildContext(guildId: string): Promise<GuildContext | null> {
    const cached = this.guilds.get(guildId);
    if (cached) return cached;
    const generation = this.guilds.generation;
    const [guild, roles] = await Promise.all([
      this.storage.guilds.findById(guildId),
      this.storage.roles.list(guildId),
    ]);
    if (!guild) return null;
    const context = contextOf(guild, roles);
    this.guilds.set(guildId, context, generation);
    return context;
  }

  private async member(guildId: string, userId: string): Promise<MemberRecord | null> {
    const key = `${guildId}:${userId}`;
    const cached = this.members.get(key);
    if (cached) return cached;
    const generation = this.members.generation;
    const member = await this.storage.members.find(guildId, userId);
    if (member) this.members.set(key, member, generation);
    return member;
  }

  private async channelRecord(channelId: string): Promise<ChannelRecord | null> {
    const cached = this.channels.get(channelId);
    if (cached) return cached;
    const generation = this.channels.generation;
    const channel = await this.storage.channels.findById(channelId);
    if (channel) this.channels.set(channelId, channel, generation);
    return channel;
  }

  /** Drops what an event says has changed (member records, roles, overwrites, ownership, deletions). */
  private invalidate(event: DomainEvent): void {
    const drop = INVALIDATES[event.type];
    if (drop === 'guild') {
      // GUILD_DELETE on a user's scope: that user left or was removed; on the guild's scope: the guild is gone.
      if (event.scope.kind === 'user') this.members.delete(`${guildIdOf(event)}:${event.scope.id}`);
      else this.guilds.delete(guildIdOf(event));
    } else if (drop === 'member') {
      const data = event.data as { guild_id?: string; user?: { id?: string } };
      if (data.guild_id && data.user?.id) this.members.delete(`${data.guild_id}:${data.user.id}`);
    } else if (drop === 'channel') {
      const id = (event.data as { id?: string }).id;
      if (id) this.channels.delete(id);
    }
  }

  async requireGuild(guildId: string, userId: string, ...bits: bigint[]): Promise<GuildAccess> {
    const access = await this.guild(guildId, userId);
    for (const bit of bits)
      if (!PermissionCalculator.has(access.permissions, bit)) throw new ForbiddenError();
    return access;
  }

  channelPermissions(access: GuildAccess, channel: ChannelRecord): bigint {
    const permissions = PermissionCalculator.applyOverwritesFor(
      access.subject,
      access.permissions,
      overwriteBits(channel),
    );
    return access.timedOut ? permissions & TIMED_OUT_PERMISSIONS : permissions;
  }

  /** The channel if the caller may see it (VIEW_CHANNEL, or DM recipient); 404 otherwise. */
  async channel(channelId: string, userId: string): Promise<ChannelAccess> {
    if (!isSnowflake(channelId)) throw unknown('channel');
    const channel = await this.channelRecord(channelId);
    if (!channel) throw unknown('channel');
    if (channel.type === ChannelType.DM || channel.guildId === null) {
      if (!channel.recipients.includes(userId)) throw unknown('channel');
      return { channel, guild: null, permissions: DM_PERMISSIONS };
    }
    let guild: GuildAccess;
    try {
      guild = await this.guild(channel.guildId, userId);
    } catch (err) {
      // Not a member (or the guild is gone): as invisible as an unknown channel. An outage stays an outage (503).
      if (err instanceof NotFoundError) throw unknown('channel');
      throw err;
    }
    const permissions = this.channelPermissions(guild, channel);
    if (!PermissionCalculator.has(permissions, Permission.VIEW_CHANNEL)) throw unknown('channel');
    return { channel, guild, permissions };
  }

  /**
   * A guild channel as one of its webhooks acts in it (Discord's webhooks are no members: no roles, no
   * overwrites, no timeout; they may mention anyone). From the same caches as every other check; 404
   * Unknown Webhook when the channel or guild is gone.
   */
  async webhookChannel(channelId: string, guildId: string, webhookId: string): Promise<ChannelAccess> {
    const [channel, context] = await Promise.all([this.channelRecord(channelId), this.guildContext(guildId)]);
    if (!channel || !context || channel.guildId !== guildId) throw unknown('webhook');
    const member: MemberRecord = { guildId, userId: webhookId, nick: null, roles: [], joinedAt: 0 };
    return { channel, guild: this.fromContext(context, member), permissions: WEBHOOK_PERMISSIONS };
  }

  async requireChannel(channelId: string, userId: string, ...bits: bigint[]): Promise<ChannelAccess> {
    const access = await this.channel(channelId, userId);
    for (const bit of bits)
      if (!PermissionCalculator.has(access.permissions, bit)) throw new ForbiddenError();
    return access;
  }

  /** Role hierarchy: the actor must sit above the target (owners above everyone). */
  async requireAbove(access: GuildAccess, targetUserId: string): Promise<MemberRecord> {
    const target = await this.member(access.guild.id, targetUserId);
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

/** Which cached record each event type changes. */
const INVALIDATES: Partial<Record<DomainEvent['type'], 'guild' | 'member' | 'channel'>> = {
  GUILD_UPDATE: 'guild',
  GUILD_DELETE: 'guild',
  GUILD_ROLE_CREATE: 'guild',
  GUILD_ROLE_UPDATE: 'guild',
  GUILD_ROLE_DELETE: 'guild',
  GUILD_MEMBER_ADD: 'member',
  GUILD_MEMBER_UPDATE: 'member',
  GUILD_MEMBER_REMOVE: 'member',
  GUILD_BAN_ADD: 'member',
  CHANNEL_CREATE: 'channel',
  CHANNEL_UPDATE: 'channel',
  CHANNEL_DELETE: 'channel',
};

function contextOf(guild: GuildRecord, roles: RoleRecord[]): GuildContext {
  return {
    guild,
    roles,
    rolePermissions: new Map(roles.map((r) => [r.id, parsePermissions(r.permissions)])),
    positions: new Map(roles.map((r) => [r.id, r.position])),
  };
}

function guildIdOf(event: DomainEvent): string {
  const data = event.data as { id?: string; guild_id?: string };
  return data.guild_id ?? data.id ?? '';
}
