import type { ChannelNotificationOverride, NotificationLevel } from './records';

/**
 * Channel overrides are stored as one JSON text per settings row on both drivers (Discord reads and writes
 * them with the row). Ids are strings in the JSON so no reader rounds them; a null end time is 0.
 */
interface StoredOverride {
  c: string;
  n: number;
  m: boolean;
  e: number;
}

export function encodeOverrides(overrides: readonly ChannelNotificationOverride[]): string {
  const stored: StoredOverride[] = overrides.map((o) => ({
    c: o.channelId,
    n: o.messageNotifications,
    m: o.muted,
    e: o.muteEndTime ?? 0,
  }));
  return JSON.stringify(stored);
}

export function decodeOverrides(text: string): ChannelNotificationOverride[] {
  if (!text) return [];
  return (JSON.parse(text) as StoredOverride[]).map((o) => ({
    channelId: o.c,
    messageNotifications: o.n as NotificationLevel,
    muted: o.m,
    muteEndTime: o.e || null,
  }));
}
