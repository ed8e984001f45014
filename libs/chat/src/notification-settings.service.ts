import { Inject, Injectable } from '@nestjs/common';
import { type UserGuildSettingsDto, ValidationError, isoTime } from '@parley/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import {
  type ChannelNotificationOverride,
  type GuildSettingsRecord,
  type NotificationLevel,
  STORAGE,
  type Storage,
} from '@parley/storage';
import type { z } from 'zod';
import { AccessService } from './access.service';
import type { guildSettingsPatchBody } from './schemas';

type SettingsPatch = z.infer<typeof guildSettingsPatchBody>;
type OverridePatch = {
  message_notifications?: number;
  muted?: boolean;
  mute_config?: { end_time?: string | null } | null;
};

/** What a member who never changed anything has: inherit the guild's default, nothing muted. */
function defaults(userId: string, guildId: string): GuildSettingsRecord {
  return {
    userId,
    guildId,
    messageNotifications: 3,
    muted: false,
    muteEndTime: null,
    suppressEveryone: false,
    suppressRoles: false,
    channelOverrides: [],
    updatedAt: 0,
  };
}

/** mute_config.end_time as ms; absent config keeps what is stored, null config or end time means "until unmuted". */
function endTime(
  config: { end_time?: string | null } | null | undefined,
  current: number | null,
): number | null {
  if (config === undefined) return current;
  if (config === null || config.end_time === undefined || config.end_time === null) return null;
  return Date.parse(config.end_time);
}

/** An override that says nothing (inherit, not muted) is dropped rather than stored. */
const meaningful = (o: ChannelNotificationOverride): boolean => o.messageNotifications !== 3 || o.muted;

export function toUserGuildSettings(s: GuildSettingsRecord): UserGuildSettingsDto {
  const mute = (muted: boolean, end: number | null) =>
    muted ? { end_time: end === null ? null : isoTime(end), selected_time_window: -1 } : null;
  return {
    guild_id: s.guildId,
    message_notifications: s.messageNotifications,
    muted: s.muted,
    mute_config: mute(s.muted, s.muteEndTime),
    suppress_everyone: s.suppressEveryone,
    suppress_roles: s.suppressRoles,
    mobile_push: true,
    hide_muted_channels: false,
    notify_highlights: 0,
    flags: 0,
    channel_overrides: s.channelOverrides.map((o) => ({
      channel_id: o.channelId,
      message_notifications: o.messageNotifications,
      muted: o.muted,
      mute_config: mute(o.muted, o.muteEndTime),
      collapsed: false,
    })),
    version: s.updatedAt,
  };
}

/**
 * Per-guild and per-channel notification settings (Discord's user guild settings). Changes are rare, so an
 * update reads the row, merges the patch and writes it whole; the user's other sessions hear of it through
 * USER_GUILD_SETTINGS_UPDATE.
 */
@Injectable()
export class NotificationSettingsService {
  constructor(
    @Inject(STORAGE) private readonly storage: Storage,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly access: AccessService,
  ) {}

  async get(guildId: string, userId: string): Promise<UserGuildSettingsDto> {
    await this.access.guild(guildId, userId);
    const stored = await this.storage.guildSettings.find(userId, guildId);
    return toUserGuildSettings(stored ?? defaults(userId, guildId));
  }

  /** Every guild the user has changed settings in and is still a member of (READY's user_guild_settings). */
  async list(userId: string, guildIds: readonly string[]): Promise<UserGuildSettingsDto[]> {
    const member = new Set(guildIds);
    const all = await this.storage.guildSettings.list(userId);
    return all.filter((s) => member.has(s.guildId)).map(toUserGuildSettings);
  }

  async update(guildId: string, userId: string, patch: SettingsPatch): Promise<UserGuildSettingsDto> {
    await this.access.guild(guildId, userId);
    const current = (await this.storage.guildSettings.find(userId, guildId)) ?? defaults(userId, guildId);
    const next: GuildSettingsRecord = {
      ...current,
      messageNotifications: patch.message_notifications ?? current.messageNotifications,
      muted: patch.muted ?? current.muted,
      muteEndTime: endTime(patch.mute_config, current.muteEndTime),
      suppressEveryone: patch.suppress_everyone ?? current.suppressEveryone,
      suppressRoles: patch.suppress_roles ?? current.suppressRoles,
      channelOverrides: await this.mergeOverrides(guildId, current.channelOverrides, patch.channel_overrides),
      updatedAt: Math.max(Date.now(), current.updatedAt + 1),
    };
    if (!next.muted) next.muteEndTime = null;
    await this.storage.guildSettings.put(next);
    const dto = toUserGuildSettings(next);
    this.bus.publish({ type: 'USER_GUILD_SETTINGS_UPDATE', scope: { kind: 'user', id: userId }, data: dto });
    return dto;
  }

  /** Entries listed replace that channel's override; channels not listed keep theirs (Discord's merge). */
  private async mergeOverrides(
    guildId: string,
    current: readonly ChannelNotificationOverride[],
    patch: SettingsPatch['channel_overrides'],
  ): Promise<ChannelNotificationOverride[]> {
    if (patch === undefined) return [...current];
    const entries: [string, OverridePatch][] = Array.isArray(patch)
      ? patch.map((o) => [o.channel_id, o])
      : Object.entries(patch);
    if (entries.length === 0) return [...current];
    const channels = new Set((await this.storage.channels.listByGuild(guildId)).map((c) => c.id));
    const merged = new Map(current.filter((o) => channels.has(o.channelId)).map((o) => [o.channelId, o]));
    for (const [channelId, o] of entries) {
      if (!channels.has(channelId))
        throw ValidationError.field(
          `channel_overrides.${channelId}`,
          'CHANNEL_NOT_IN_GUILD',
          'Not a channel of this guild',
        );
      const before = merged.get(channelId);
      const muted = o.muted ?? before?.muted ?? false;
      const override: ChannelNotificationOverride = {
        channelId,
        messageNotifications: (o.message_notifications ??
          before?.messageNotifications ??
          3) as NotificationLevel,
        muted,
        muteEndTime: muted ? endTime(o.mute_config, before?.muteEndTime ?? null) : null,
      };
      if (meaningful(override)) merged.set(channelId, override);
      else merged.delete(channelId);
    }
    return [...merged.values()];
  }
}
