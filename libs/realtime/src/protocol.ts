import type { ResumeEntry } from '@parley/state';

/**
 * Wire format. Dispatches are socket.io EVENT packets written straight to the engine.io connection:
 * `2["<TYPE>",{"s":<seq>,"d":<data>}]` for the default namespace. `d` is serialised once per event and shared
 * by every recipient; only the small envelope is built per recipient, by string concatenation.
 */

/** Close and error codes (shared by `connect_error.data.code`, `ERROR.code` and `CLOSE.code`). */
export const GatewayCode = {
  UNKNOWN_ERROR: 4000,
  UNKNOWN_EVENT: 4001,
  MALFORMED_PAYLOAD: 4002,
  NOT_READY: 4003,
  AUTHENTICATION_FAILED: 4004,
  RATE_LIMITED: 4008,
  SLOW_CONSUMER: 4010,
  SERVER_SHUTDOWN: 4011,
  PAYLOAD_TOO_LARGE: 4012,
  TOO_MANY_CONNECTIONS: 4013,
  SESSION_REPLACED: 4014,
  /** The user already holds `gateway.max_sessions_per_user` connected sessions. */
  TOO_MANY_SESSIONS: 4015,
  /** The client's address already holds `gateway.max_connections_per_ip` connections. */
  TOO_MANY_ADDRESS_CONNECTIONS: 4016,
} as const;
export type GatewayCodeValue = (typeof GatewayCode)[keyof typeof GatewayCode];

/** Why the server ends a connection; sent in a `CLOSE` event just before it does. */
export type CloseReason =
  | 'slow_consumer'
  | 'rate_limited'
  | 'token_revoked'
  | 'server_shutdown'
  | 'session_replaced'
  | 'internal_error';

export interface ClosePayload {
  code: GatewayCodeValue;
  reason: CloseReason;
  /** Whether `{session_id, seq}` will be accepted on the next connection. */
  resumable: boolean;
  /** Whether the client should reconnect on its own (the transport is closed, so socket.io-client does). */
  reconnect: boolean;
}

/** Dispatches that only the gateway itself produces and that are never replayed. */
export const CONTROL_DISPATCHES = new Set(['READY', 'RESUMED']);

/** Client-to-server events. */
export const INBOUND_EVENTS = new Set(['PRESENCE_UPDATE', 'GUILD_SUBSCRIPTIONS']);

/** Coalesced frames carry at most this many dispatches. */
export const MAX_BATCH = 64;

export function serialise(data: unknown): string {
  return JSON.stringify(data) ?? 'null';
}

/** One dispatch: `2["T",{"s":N,"d":D}]`. `t` is one of our upper-case type names, so it needs no escaping. */
export function dispatchFrame(entry: ResumeEntry): string {
  return `2["${entry.t}",{"s":${entry.s},"d":${entry.d}}]`;
}

/**
 * A dispatch as a WebSocket message of its own, written past engine.io (Connection's direct writes): the
 * engine.io message packet type (`4`), then `dispatchFrame` up to `d`.
 */
export function dispatchHead(t: string, s: number): string {
  return `42["${t}",{"s":${s},"d":`;
}

/** What follows `d` in a dispatch frame. */
export const DISPATCH_TAIL = Buffer.from('}]');

/** Several dispatches in one frame: `2["BATCH",[{"t":"T","s":N,"d":D},...]]`. */
export function batchFrame(entries: readonly ResumeEntry[]): string {
  let out = '2["BATCH",[';
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    out += `${i === 0 ? '' : ','}{"t":"${e.t}","s":${e.s},"d":${e.d}}`;
  }
  return `${out}]]`;
}

/** A non-sequenced event (`ERROR`, `CLOSE`, `INVALID_SESSION`). */
export function eventFrame(name: string, payload: unknown): string {
  return `2[${JSON.stringify(name)},${serialise(payload)}]`;
}
