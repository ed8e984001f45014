/**
 * Discord's gateway protocol v10, as far as Parley speaks it (docs/discord-compatibility.md): opcodes, close
 * codes, intents and which dispatches each intent gates. Values are Discord's.
 */

export const Op = {
  DISPATCH: 0,
  HEARTBEAT: 1,
  IDENTIFY: 2,
  PRESENCE_UPDATE: 3,
  VOICE_STATE_UPDATE: 4,
  RESUME: 6,
  RECONNECT: 7,
  REQUEST_GUILD_MEMBERS: 8,
  INVALID_SESSION: 9,
  HELLO: 10,
  HEARTBEAT_ACK: 11,
  /** Discord's user-client guild subscriptions ("lazy request"): member-list ranges. */
  GUILD_SUBSCRIPTIONS: 14,
  REQUEST_SOUNDBOARD_SOUNDS: 31,
} as const;

export const DiscordClose = {
  UNKNOWN_ERROR: 4000,
  UNKNOWN_OPCODE: 4001,
  DECODE_ERROR: 4002,
  NOT_AUTHENTICATED: 4003,
  AUTHENTICATION_FAILED: 4004,
  ALREADY_AUTHENTICATED: 4005,
  INVALID_SEQ: 4007,
  RATE_LIMITED: 4008,
  SESSION_TIMED_OUT: 4009,
  INVALID_SHARD: 4010,
  INVALID_API_VERSION: 4012,
  INVALID_INTENTS: 4013,
  DISALLOWED_INTENTS: 4014,
} as const;

export const Intent = {
  GUILDS: 1 << 0,
  GUILD_MEMBERS: 1 << 1,
  GUILD_MODERATION: 1 << 2,
  GUILD_EXPRESSIONS: 1 << 3,
  GUILD_INTEGRATIONS: 1 << 4,
  GUILD_WEBHOOKS: 1 << 5,
  GUILD_INVITES: 1 << 6,
  GUILD_VOICE_STATES: 1 << 7,
  GUILD_PRESENCES: 1 << 8,
  GUILD_MESSAGES: 1 << 9,
  GUILD_MESSAGE_REACTIONS: 1 << 10,
  GUILD_MESSAGE_TYPING: 1 << 11,
  DIRECT_MESSAGES: 1 << 12,
  DIRECT_MESSAGE_REACTIONS: 1 << 13,
  DIRECT_MESSAGE_TYPING: 1 << 14,
  MESSAGE_CONTENT: 1 << 15,
  GUILD_SCHEDULED_EVENTS: 1 << 16,
  AUTO_MODERATION_CONFIGURATION: 1 << 20,
  AUTO_MODERATION_EXECUTION: 1 << 21,
  GUILD_MESSAGE_POLLS: 1 << 24,
  DIRECT_MESSAGE_POLLS: 1 << 25,
} as const;
export const ALL_INTENTS = Object.values(Intent).reduce((a, b) => a | b, 0);
export const PRIVILEGED_INTENTS = Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT;

/** Dispatches gated by one intent whether in a guild or not. */
const BY_EVENT: Record<string, number> = {
  GUILD_CREATE: Intent.GUILDS,
  GUILD_UPDATE: Intent.GUILDS,
  GUILD_DELETE: Intent.GUILDS,
  GUILD_ROLE_CREATE: Intent.GUILDS,
  GUILD_ROLE_UPDATE: Intent.GUILDS,
  GUILD_ROLE_DELETE: Intent.GUILDS,
  CHANNEL_CREATE: Intent.GUILDS,
  CHANNEL_UPDATE: Intent.GUILDS,
  CHANNEL_DELETE: Intent.GUILDS,
  GUILD_MEMBER_ADD: Intent.GUILD_MEMBERS,
  GUILD_MEMBER_UPDATE: Intent.GUILD_MEMBERS,
  GUILD_MEMBER_REMOVE: Intent.GUILD_MEMBERS,
  GUILD_BAN_ADD: Intent.GUILD_MODERATION,
  GUILD_BAN_REMOVE: Intent.GUILD_MODERATION,
  GUILD_AUDIT_LOG_ENTRY_CREATE: Intent.GUILD_MODERATION,
  GUILD_EMOJIS_UPDATE: Intent.GUILD_EXPRESSIONS,
  GUILD_STICKERS_UPDATE: Intent.GUILD_EXPRESSIONS,
  WEBHOOKS_UPDATE: Intent.GUILD_WEBHOOKS,
  INVITE_CREATE: Intent.GUILD_INVITES,
  INVITE_DELETE: Intent.GUILD_INVITES,
  VOICE_STATE_UPDATE: Intent.GUILD_VOICE_STATES,
  PRESENCE_UPDATE: Intent.GUILD_PRESENCES,
  AUTO_MODERATION_RULE_CREATE: Intent.AUTO_MODERATION_CONFIGURATION,
  AUTO_MODERATION_RULE_UPDATE: Intent.AUTO_MODERATION_CONFIGURATION,
  AUTO_MODERATION_RULE_DELETE: Intent.AUTO_MODERATION_CONFIGURATION,
  AUTO_MODERATION_ACTION_EXECUTION: Intent.AUTO_MODERATION_EXECUTION,
};

/** Dispatches gated by a guild intent in a guild and a direct-message intent elsewhere: [guild, dm]. */
const BY_PLACE: Record<string, readonly [number, number]> = {
  MESSAGE_CREATE: [Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES],
  MESSAGE_UPDATE: [Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES],
  MESSAGE_DELETE: [Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES],
  MESSAGE_DELETE_BULK: [Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES],
  CHANNEL_PINS_UPDATE: [Intent.GUILDS, Intent.DIRECT_MESSAGES],
  MESSAGE_REACTION_ADD: [Intent.GUILD_MESSAGE_REACTIONS, Intent.DIRECT_MESSAGE_REACTIONS],
  MESSAGE_REACTION_REMOVE: [Intent.GUILD_MESSAGE_REACTIONS, Intent.DIRECT_MESSAGE_REACTIONS],
  MESSAGE_REACTION_REMOVE_ALL: [Intent.GUILD_MESSAGE_REACTIONS, Intent.DIRECT_MESSAGE_REACTIONS],
  MESSAGE_REACTION_REMOVE_EMOJI: [Intent.GUILD_MESSAGE_REACTIONS, Intent.DIRECT_MESSAGE_REACTIONS],
  TYPING_START: [Intent.GUILD_MESSAGE_TYPING, Intent.DIRECT_MESSAGE_TYPING],
};

/**
 * Whether a session with these intents gets this dispatch. `d` is the serialised payload: a guild event's
 * payload names its guild at the top level (`"guild_id":"…"`), a DM's does not. Dispatches no intent gates
 * (READY, RESUMED, USER_UPDATE, Parley's own such as MESSAGE_ACK) always pass; Discord clients ignore types
 * they do not know.
 */
export function allowedByIntents(t: string, d: string, intents: number): boolean {
  return allowedByPlace(t, d.includes('"guild_id":"'), intents);
}

/** The same, when whether the payload names a guild is already known (once per dispatch, not per recipient). */
export function allowedByPlace(t: string, inGuild: boolean, intents: number): boolean {
  const single = BY_EVENT[t];
  if (single !== undefined) return (intents & single) !== 0;
  const place = BY_PLACE[t];
  if (place === undefined) return true;
  return (intents & (inGuild ? place[0] : place[1])) !== 0;
}

/** `{"op":0,"t":"T","s":N,"d":D}`: `d` is serialised once per event; only this envelope is per recipient. */
export function discordDispatchFrame(t: string, s: number, d: string): string {
  return `${discordEnvelopeHead(t, s)}${d}}`;
}

/** The envelope before `d` (`discordDispatchFrame`'s field order): a pre-framed write's head. */
export function discordEnvelopeHead(t: string, s: number): string {
  return `{"op":0,"t":"${t}","s":${s},"d":`;
}

/** What follows `d` in a dispatch frame. */
export const DISCORD_ENVELOPE_TAIL = Buffer.from('}');

export function discordOpFrame(op: number, d: unknown): string {
  return `{"op":${op},"d":${JSON.stringify(d) ?? 'null'}}`;
}

/** Session ids of the Discord transport carry the session's intents, so any gateway node can resume them. */
export function discordSessionPrefix(intents: number): string {
  return `${intents.toString(36)}.`;
}

export function intentsOfSessionId(sessionId: string): number | null {
  const dot = sessionId.indexOf('.');
  if (dot <= 0) return null;
  const value = Number.parseInt(sessionId.slice(0, dot), 36);
  return Number.isSafeInteger(value) && value >= 0 && value <= ALL_INTENTS ? value : null;
}
