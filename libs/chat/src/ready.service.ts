import { Inject, Injectable } from '@nestjs/common';
import {
  type ChannelDto,
  type GuildFullDto,
  Permission,
  PermissionCalculator,
  type ReadStateDto,
  type SelfUser,
  type UserGuildSettingsDto,
  snowflakeEpoch,
} from '@parley/common';
import { toSelfUser } from '@parley/auth';
import { STORAGE, type Storage } from '@parley/storage';
import { AccessService } from './access.service';
import { ChannelService } from './channels.service';
import { GuildService } from './guilds.service';
import { MessageService } from './messages.service';
import { NotificationSettingsService } from './notification-settings.service';

/**
 * DM channels sent in READY: the newest this many (Discord sends them all; a user or bot with tens of thousands
 * of DMs would make every connect read them all). Older ones come from `GET /users/@me/channels?before=`.
 */
export const READY_DMS = 200;

export interface ReadySnapshot {
  user: SelfUser;
  guilds: GuildFullDto[];
  private_channels: ChannelDto[];
  read_states: ReadStateDto[];
  /** Discord's shape: the guilds whose notification settings the user changed (absent guilds: defaults). */
  user_guild_settings: { entries: UserGuildSettingsDto[]; partial: false; version: number };
  /** The epoch (ms) this instance's ids count from (Discord's, or 2024-01-01 on older instances). */
  snowflake_epoch: number;
}

/** What a client needs to start: used by the gateway's READY and by clients that poll. */
@Injectable()
export class ReadyService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    private readonly access: AccessService,
    private readonly guilds: GuildService,
    private readonly channels: ChannelService,
    private readonly messages: MessageService,
    private readonly notificationSettings: NotificationSettingsService,
  ) {}

  async snapshot(userId: string): Promise<ReadySnapshot | null> {
    const user = await this.storage.users.findById(userId);
    if (!user) return null;
    const guildIds = await this.storage.members.listGuildIds(userId);
    const guilds = await Promise.all(
      guildIds.map((id) =>
        this.access
          .guild(id, userId)
          .then((a) => this.guilds.full(a))
          .catch(() => null),
      ),
    );
    const [privateChannels, readStates, settings] = await Promise.all([
      this.channels.listDms(userId, { limit: READY_DMS }),
      this.messages.readStates(userId),
      this.notificationSettings.list(userId, guildIds),
    ]);
    return {
      user: toSelfUser(user),
      guilds: guilds.filter((g): g is GuildFullDto => g !== null),
      private_channels: privateChannels,
      read_states: readStates,
      user_guild_settings: {
        entries: settings,
        partial: false,
        version: Math.max(0, ...settings.map((s) => s.version)),
      },
      snowflake_epoch: snowflakeEpoch(),
    };
  }

  /** Channel ids of a guild this user may view right now (for routing). */
  async visibleChannelIds(guildId: string, userId: string): Promise<string[] | null> {
    let access;
    try {
      access = await this.access.guild(guildId, userId);
    } catch {
      return null;
    }
    const channels = await this.storage.channels.listByGuild(guildId);
    return channels
      .filter((c) =>
        PermissionCalculator.has(this.access.channelPermissions(access, c), Permission.VIEW_CHANNEL),
      )
      .map((c) => c.id);
  }
}
