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
