import type { PresenceStatus, State } from './state';

export interface PresenceData {
  user: { id: string };
  guild_id?: string;
  status: PresenceStatus;
}

export function presencesOf(guild: { presences?: PresenceData[] }): Record<string, PresenceStatus> {
  const out: Record<string, PresenceStatus> = {};
  for (const p of guild.presences ?? []) out[p.user.id] = p.status;
  return out;
}

/** PRESENCE_UPDATE: our own status (without a guild) is the one we chose; invisible shows as offline. */
export function presenceUpdated(s: State, d: PresenceData): State {
  if (d.user.id === s.me?.id && d.guild_id === undefined) {
    return {
      ...s,
      ownStatus: d.status,
      presence: { ...s.presence, [d.user.id]: d.status === 'invisible' ? 'offline' : d.status },
    };
  }
  if (d.user.id === s.me?.id) return s;
  return { ...s, presence: { ...s.presence, [d.user.id]: d.status } };
}
