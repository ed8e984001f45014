/**
 * Who gets notified of a message, by Discord's rules for user guild settings. One pure function shared by the
 * server (pushes and emails, which only go where this says yes) and the web client (desktop notifications and
 * which unread channels stand out), so both read the settings the same way.
 */

/** Discord's levels: 0 all messages, 1 only mentions, 2 nothing, 3 inherit from the level above. */
export const NOTIFICATION_LEVEL = { ALL: 0, MENTIONS: 1, NOTHING: 2, INHERIT: 3 } as const;

export interface NotificationOverride {
  channelId: string;
  messageNotifications: number;
  muted: boolean;
  /** Muted until this time (ms); null: until unmuted. */
  muteEndTime: number | null;
}

export interface NotificationSettings {
  messageNotifications: number;
  muted: boolean;
  muteEndTime: number | null;
  suppressEveryone: boolean;
  suppressRoles: boolean;
  channelOverrides: readonly NotificationOverride[];
}

/** How a message concerns the user it might notify. */
export interface MessageMentions {
  /** Named directly (`<@id>`), or a reply to the user's message that mentions its author. */
  user: boolean;
  /** `@everyone` or `@here` that was allowed to mention. */
  everyone: boolean;
  /** A role the user holds was mentioned. */
  role: boolean;
}

const isMuted = (muted: boolean, endTime: number | null, now: number): boolean =>
  muted && (endTime === null || endTime > now);

/**
 * The level in force for a channel: the channel's override, then its category's, then the user's guild
 * level, then the guild's default (0 or 1). Never INHERIT.
 */
export function effectiveLevel(
  settings: NotificationSettings | null,
  guildDefault: number,
  channelId: string,
  parentId: string | null,
): number {
  if (settings) {
    for (const id of [channelId, parentId]) {
      const override = id === null ? undefined : settings.channelOverrides.find((o) => o.channelId === id);
      if (override && override.messageNotifications !== NOTIFICATION_LEVEL.INHERIT)
        return override.messageNotifications;
    }
    if (settings.messageNotifications !== NOTIFICATION_LEVEL.INHERIT) return settings.messageNotifications;
  }
  return guildDefault === NOTIFICATION_LEVEL.MENTIONS ? NOTIFICATION_LEVEL.MENTIONS : NOTIFICATION_LEVEL.ALL;
}

/** Whether the guild, the channel or its category is muted at `now`. */
export function isChannelMuted(
  settings: NotificationSettings | null,
  channelId: string,
  parentId: string | null,
  now: number,
): boolean {
  if (!settings) return false;
  if (isMuted(settings.muted, settings.muteEndTime, now)) return true;
  return settings.channelOverrides.some(
    (o) => (o.channelId === channelId || o.channelId === parentId) && isMuted(o.muted, o.muteEndTime, now),
  );
}

/**
 * Whether a guild message should notify this user (push, email, desktop notification). A direct mention
 * notifies unless the level is NOTHING or the channel is muted; @everyone/@here and role mentions count as
 * mentions unless the user suppressed them.
 */
export function shouldNotify(
  settings: NotificationSettings | null,
  guildDefault: number,
  channelId: string,
  parentId: string | null,
  mentions: MessageMentions,
  now: number,
): boolean {
  if (isChannelMuted(settings, channelId, parentId, now)) return false;
  const level = effectiveLevel(settings, guildDefault, channelId, parentId);
  if (level === NOTIFICATION_LEVEL.ALL) return true;
  if (level === NOTIFICATION_LEVEL.NOTHING) return false;
  return (
    mentions.user ||
    (mentions.everyone && !settings?.suppressEveryone) ||
    (mentions.role && !settings?.suppressRoles)
  );
}
