import { Inject, Injectable } from '@nestjs/common';
import { type MemberRecord, STORAGE, type Storage } from '@parley/storage';
import { GatewayMetrics } from './gateway.metrics';
import type { GuildShape } from './guild-model';

/**
 * DM channels a session is subscribed to at connect: the newest this many (a DM opened later arrives by its
 * CHANNEL_CREATE). Bounds what a connect reads for an account with a huge DM list.
 */
export const ROUTED_DMS = 1000;

export interface UserMemberships {
  guildIds: string[];
  dms: string[];
}

/**
 * The storage reads routing makes, and only these: a guild's shape once per node (then events keep it), a
 * member's roles when one of their sessions arrives, a user's guilds and DMs when a session starts, and the last
 * message ids a CHANNEL_CREATE for a newly visible channel carries. Each is counted
 * (`parley_gateway_routing_reads_total{kind}`).
 */
@Injectable()
export class VisibilityResolver {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** The guild with its roles and channels, or null when it is gone. */
  async shape(guildId: string): Promise<GuildShape | null> {
    this.metrics.routingReads.inc({ kind: 'guild' });
    const [guild, roles, channels] = await Promise.all([
      this.storage.guilds.findById(guildId),
      this.storage.roles.list(guildId),
      this.storage.channels.listByGuild(guildId),
    ]);
    return guild ? { guild, roles, channels } : null;
  }

  member(guildId: string, userId: string): Promise<MemberRecord | null> {
    this.metrics.routingReads.inc({ kind: 'member' });
    return this.storage.members.find(guildId, userId);
  }

  async memberships(userId: string): Promise<UserMemberships> {
    this.metrics.routingReads.inc({ kind: 'memberships' });
    const [guildIds, dms] = await Promise.all([
      this.storage.members.listGuildIds(userId),
      this.storage.dms.listForUser(userId, { limit: ROUTED_DMS }),
    ]);
    return { guildIds, dms: dms.map((c) => c.id) };
  }

  async lastMessageIds(channelIds: readonly string[]): Promise<Map<string, string>> {
    if (channelIds.length === 0) return new Map();
    this.metrics.routingReads.inc({ kind: 'last_message_ids' });
    return this.storage.messages.lastMessageIds(channelIds);
  }
}
