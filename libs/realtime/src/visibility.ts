import { Inject, Injectable } from '@nestjs/common';
import { AccessService } from '@parley/chat';
import { Permission, PermissionCalculator } from '@parley/common';
import { type ChannelRecord, STORAGE, type Storage } from '@parley/storage';

export interface GuildView {
  /** Every channel of the guild, by id. */
  channels: Map<string, ChannelRecord>;
  /** Per user: the channels they may view, or null when they are not a member (or the guild is gone). */
  visible: Map<string, Set<string> | null>;
}

export interface UserRouting {
  guilds: Map<string, Set<string>>;
  dms: string[];
}

/** What each user may see, computed for many users of one guild with one read of the guild's shape. */
@Injectable()
export class VisibilityResolver {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    private readonly access: AccessService,
  ) {}

  async guild(guildId: string, userIds: readonly string[]): Promise<GuildView> {
    const [guild, roles, channels] = await Promise.all([
      this.storage.guilds.findById(guildId),
      this.storage.roles.list(guildId),
      this.storage.channels.listByGuild(guildId),
    ]);
    const byId = new Map(channels.map((c) => [c.id, c]));
    const visible = new Map<string, Set<string> | null>();
    if (!guild) {
      for (const id of userIds) visible.set(id, null);
      return { channels: byId, visible };
    }
    const members = await Promise.all(userIds.map((id) => this.storage.members.find(guildId, id)));
    userIds.forEach((userId, i) => {
      const member = members[i];
      if (!member) {
        visible.set(userId, null);
        return;
      }
      const access = this.access.build(guild, member, roles);
      const ids = new Set<string>();
      for (const c of channels) {
        if (PermissionCalculator.has(this.access.channelPermissions(access, c), Permission.VIEW_CHANNEL))
          ids.add(c.id);
      }
      visible.set(userId, ids);
    });
    return { channels: byId, visible };
  }

  async user(userId: string): Promise<UserRouting> {
    const [guildIds, dms] = await Promise.all([
      this.storage.members.listGuildIds(userId),
      this.storage.dms.listForUser(userId),
    ]);
    const views = await Promise.all(guildIds.map((id) => this.guild(id, [userId])));
    const guilds = new Map<string, Set<string>>();
    guildIds.forEach((id, i) => {
      const channels = views[i].visible.get(userId);
      if (channels) guilds.set(id, channels);
    });
    return { guilds, dms: dms.map((c) => c.id) };
  }

  async lastMessageIds(channelIds: readonly string[]): Promise<Map<string, string>> {
    return channelIds.length === 0 ? new Map() : this.storage.messages.lastMessageIds(channelIds);
  }
}
