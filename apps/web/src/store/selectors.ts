import { isChannelMuted, type NotificationSettings } from '@parley/common/notifications';
import type { ChannelDto } from '@parley/common/protocol';
import { newerThan } from '../text';
import type { State } from './state';

export function findChannel(s: State, channelId: string): ChannelDto | undefined {
  if (s.dms[channelId]) return s.dms[channelId];
  for (const id of s.guildOrder) {
    const c = s.guilds[id]?.channels.find((ch) => ch.id === channelId);
    if (c) return c;
  }
  return undefined;
}

export function isUnread(s: State, channel: ChannelDto): boolean {
  if (!channel.last_message_id || channel.id === s.viewing) return false;
  return newerThan(channel.last_message_id, s.readStates[channel.id]?.last_message_id);
}

export function mentionCount(s: State, channelId: string): number {
  return s.readStates[channelId]?.mention_count ?? 0;
}

/** The user's notification settings in a guild in the shared rules' terms; null when never changed. */
export function notificationSettings(s: State, guildId: string): NotificationSettings | null {
  const g = s.guildSettings[guildId];
  if (!g) return null;
  const end = (config: { end_time: string | null } | null) =>
    config?.end_time ? Date.parse(config.end_time) : null;
  return {
    messageNotifications: g.message_notifications,
    muted: g.muted,
    muteEndTime: end(g.mute_config),
    suppressEveryone: g.suppress_everyone,
    suppressRoles: g.suppress_roles,
    channelOverrides: g.channel_overrides.map((o) => ({
      channelId: o.channel_id,
      messageNotifications: o.message_notifications,
      muted: o.muted,
      muteEndTime: end(o.mute_config),
    })),
  };
}

/** A muted guild, category or channel: greyed in the sidebar, its unread messages not announced. */
export function isMuted(s: State, channel: ChannelDto, now = Date.now()): boolean {
  if (!channel.guild_id) return false;
  return isChannelMuted(
    notificationSettings(s, channel.guild_id),
    channel.id,
    channel.parent_id ?? null,
    now,
  );
}
