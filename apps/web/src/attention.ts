import { shouldNotify } from '@parley/common/notifications';
import type { ChannelDto, MessageDto } from '@parley/common/protocol';
import { findChannel, isMuted, isUnread, mentionCount, notificationSettings, type State } from './store';

/**
 * Getting the user's attention when they are elsewhere (the rules; desktop.ts puts them on the page): the
 * unread count for the tab title and the favicon, and which messages are worth a desktop notification.
 */

export interface Unread {
  /** Mentions waiting, across guilds and DMs (DM messages count as mentions, as on Discord). */
  mentions: number;
  /** Anything unread in a channel that is not muted. */
  unread: boolean;
}

export function unreadSummary(s: State): Unread {
  let mentions = 0;
  let unread = false;
  const count = (c: ChannelDto) => {
    mentions += mentionCount(s, c.id);
    if (!unread && isUnread(s, c) && !isMuted(s, c)) unread = true;
  };
  for (const id of s.guildOrder) for (const c of s.guilds[id]?.channels ?? []) if (c.type === 0) count(c);
  for (const c of Object.values(s.dms)) count(c);
  return { mentions, unread };
}

/** "(3) general · Parley" with mentions, "• general · Parley" with only unread messages. */
export function titleWith(base: string, u: Unread): string {
  if (u.mentions > 0) return `(${u.mentions > 99 ? '99+' : u.mentions}) ${base}`;
  return u.unread ? `• ${base}` : base;
}

/** Whether a new message concerns this user enough for a desktop notification. */
export function worthNotifying(s: State, m: MessageDto, now = Date.now()): boolean {
  const me = s.me;
  if (!me || m.author.id === me.id) return false;
  const channel = findChannel(s, m.channel_id);
  if (!channel) return false;
  if (!channel.guild_id) return true; // DMs always
  const roles = new Set(s.members[channel.guild_id]?.[me.id]?.roles ?? []);
  const mentionRoles = (m as MessageDto & { mention_roles?: string[] }).mention_roles ?? [];
  return shouldNotify(
    notificationSettings(s, channel.guild_id),
    s.guilds[channel.guild_id]?.default_message_notifications ?? 0,
    channel.id,
    channel.parent_id ?? null,
    {
      user: m.mentions.some((u) => u.id === me.id),
      everyone: m.mention_everyone,
      role: mentionRoles.some((r) => roles.has(r)),
    },
    now,
  );
}
