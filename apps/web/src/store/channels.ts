import type { ChannelDto } from '@parley/common/protocol';
import { compareIds, newerThan } from '../text';
import type { State } from './state';
import { withUsers } from './users';

export function byPosition(a: ChannelDto, b: ChannelDto): number {
  return (a.position ?? 0) - (b.position ?? 0) || compareIds(a.id, b.id);
}

export function setGuildChannels(
  s: State,
  guildId: string,
  fn: (channels: ChannelDto[]) => ChannelDto[],
): State {
  const guild = s.guilds[guildId];
  if (!guild) return s;
  return {
    ...s,
    guilds: { ...s.guilds, [guildId]: { ...guild, channels: fn(guild.channels).sort(byPosition) } },
  };
}

export function setLastMessage(
  s: State,
  channelId: string,
  guildId: string | undefined,
  messageId: string,
): State {
  if (!guildId) {
    const dm = s.dms[channelId];
    if (!dm || !newerThan(messageId, dm.last_message_id)) return s;
    return { ...s, dms: { ...s.dms, [channelId]: { ...dm, last_message_id: messageId } } };
  }
  return setGuildChannels(s, guildId, (channels) =>
    channels.map((c) =>
      c.id === channelId && newerThan(messageId, c.last_message_id)
        ? { ...c, last_message_id: messageId }
        : c,
    ),
  );
}

export function removeChannel(s: State, channel: ChannelDto): State {
  const messages = { ...s.messages };
  delete messages[channel.id];
  if (channel.guild_id) {
    return setGuildChannels({ ...s, messages }, channel.guild_id, (cs) =>
      cs.filter((c) => c.id !== channel.id),
    );
  }
  const dms = { ...s.dms };
  delete dms[channel.id];
  return { ...s, dms, messages };
}

export function upsertChannel(s: State, channel: ChannelDto): State {
  if (channel.guild_id) {
    return setGuildChannels(s, channel.guild_id, (cs) => [...cs.filter((c) => c.id !== channel.id), channel]);
  }
  return {
    ...s,
    dms: { ...s.dms, [channel.id]: { ...s.dms[channel.id], ...channel } },
    users: withUsers(s.users, channel.recipients ?? []),
  };
}
