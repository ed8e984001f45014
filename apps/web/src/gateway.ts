import type { DispatchType } from '@parley/common/protocol';
import { io, type Socket } from 'socket.io-client';

export type ConnectionState = 'connecting' | 'ready' | 'reconnecting' | 'replaced';

export interface GatewayHandlers {
  dispatch(type: DispatchType, d: unknown): void;
  state(state: ConnectionState): void;
  /** The token is no longer accepted (logged out elsewhere, or revoked). */
  unauthorized(): void;
}

interface Envelope {
  s?: number;
  d?: unknown;
}

interface ClosePayload {
  code: number;
  reason: string;
  resumable: boolean;
  reconnect: boolean;
}

const NOT_DISPATCHES = new Set(['ERROR', 'CLOSE', 'INVALID_SESSION', 'BATCH']);

/**
 * One gateway session over socket.io (docs/gateway.md): tracks `session_id` and the last `s` so that every
 * reconnection resumes and gets what it missed; a fresh READY replaces the state when resuming is refused.
 */
export class GatewayClient {
  private readonly socket: Socket;
  private sessionId: string | null = null;
  private seq = 0;
  private stopped = false;
  private replaced = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    token: string,
    private readonly handlers: GatewayHandlers,
  ) {
    this.socket = io({
      path: '/gateway',
      transports: ['websocket'],
      autoConnect: false,
      reconnectionDelay: 500,
      reconnectionDelayMax: 4000,
      // A function: every reconnection offers the latest session and sequence number.
      auth: (cb) => cb(this.sessionId ? { token, session_id: this.sessionId, seq: this.seq } : { token }),
    });
    this.socket.onAny((event: string, payload: unknown) => this.onEvent(event, payload));
    this.socket.on('connect', () => handlers.state('connecting'));
    this.socket.on('disconnect', (reason) => {
      if (this.stopped) return;
      if (!this.replaced) handlers.state('reconnecting');
      // socket.io-client leaves a server-side disconnect alone; CLOSE said whether to come back.
      if (reason === 'io server disconnect' && !this.replaced) this.retryLater(3000);
    });
    this.socket.on('connect_error', (err: Error & { data?: { code?: number } }) => {
      if (this.stopped) return;
      if (err.data?.code === 4004) {
        handlers.unauthorized();
        return;
      }
      handlers.state('reconnecting');
      // Refused by the server's middleware (full, draining): socket.io-client does not retry those itself.
      if (!this.socket.active) this.retryLater(2000);
    });
    window.addEventListener('offline', this.onOffline);
    window.addEventListener('online', this.onOnline);
  }

  start(): void {
    this.handlers.state('connecting');
    this.socket.connect();
  }

  /** Ends the session for good (log out): the server marks us offline at once. */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    window.removeEventListener('offline', this.onOffline);
    window.removeEventListener('online', this.onOnline);
    this.socket.offAny();
    this.socket.disconnect();
  }

  /** Asks the server to set our status; resolves with whether it accepted. */
  async setStatus(status: 'online' | 'idle' | 'dnd' | 'invisible'): Promise<boolean> {
    try {
      const ack = (await this.socket.timeout(5000).emitWithAck('PRESENCE_UPDATE', { status })) as {
        ok?: boolean;
      };
      return ack.ok === true;
    } catch {
      return false;
    }
  }

  /**
   * Asks for TYPING_START in a guild (`on`) or stops (docs/gateway.md, "Typing in large guilds": a large guild
   * sends it only to sessions that asked). Resolves with whether the server accepted it.
   */
  async subscribeTyping(guildId: string, on: boolean): Promise<boolean> {
    try {
      const ack = (await this.socket.timeout(5000).emitWithAck('GUILD_SUBSCRIPTIONS', {
        guild_id: guildId,
        typing: on,
      })) as { ok?: boolean };
      return ack.ok === true;
    } catch {
      return false;
    }
  }

  /**
   * Subscribes to rows of a channel's member list (docs/gateway.md, "Member lists"); no channel ends the
   * subscription. Resolves with whether the server accepted it.
   */
  async subscribeMembers(
    guildId: string,
    channelId: string | null,
    ranges: Array<[number, number]>,
  ): Promise<boolean> {
    try {
      // A member list is shown with its channel open, so typing is asked for with it, in the same request.
      const ack = (await this.socket.timeout(5000).emitWithAck('GUILD_SUBSCRIPTIONS', {
        guild_id: guildId,
        channels: channelId ? { [channelId]: ranges } : {},
        ...(channelId ? { typing: true } : {}),
      })) as { ok?: boolean };
      return ack.ok === true;
    } catch {
      return false;
    }
  }

  /** After a session that was taken over elsewhere, start again on request. */
  reconnect(): void {
    this.replaced = false;
    this.sessionId = null;
    this.seq = 0;
    if (!this.socket.connected) this.socket.connect();
  }

  private retryLater(ms: number): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped && !this.socket.connected) this.socket.connect();
    }, ms);
  }

  // The operating system says the network is gone: drop the transport now rather than waiting for the
  // heartbeat to time out. The session stays resumable on the server; socket.io-client reconnects by itself.
  private readonly onOffline = () => {
    if (this.socket.connected) this.socket.io.engine.close();
    this.handlers.state('reconnecting');
  };

  private readonly onOnline = () => {
    if (!this.socket.connected && !this.socket.active) this.socket.connect();
  };

  private onEvent(event: string, payload: unknown): void {
    if (event === 'BATCH' && Array.isArray(payload)) {
      for (const item of payload as { t: string; s: number; d: unknown }[])
        this.onEvent(item.t, { s: item.s, d: item.d });
      return;
    }
    if (event === 'INVALID_SESSION') {
      // A fresh READY follows on this connection: everything is rebuilt from it.
      this.sessionId = null;
      this.seq = 0;
      return;
    }
    if (event === 'ERROR') {
      console.warn('gateway refused an event', payload);
      return;
    }
    if (event === 'CLOSE') {
      this.onClose(payload as ClosePayload);
      return;
    }
    if (NOT_DISPATCHES.has(event)) return;
    const envelope = (payload ?? {}) as Envelope;
    if (event === 'READY') {
      this.sessionId = (envelope.d as { session_id: string }).session_id;
    }
    this.handlers.dispatch(event as DispatchType, envelope.d);
    if (typeof envelope.s === 'number') this.seq = envelope.s;
    if (event === 'READY' || event === 'RESUMED') this.handlers.state('ready');
  }

  private onClose(close: ClosePayload): void {
    if (!close.resumable) {
      this.sessionId = null;
      this.seq = 0;
    }
    switch (close.reason) {
      case 'token_revoked':
        this.stopped = true;
        this.handlers.unauthorized();
        return;
      case 'session_replaced':
        this.replaced = true;
        this.handlers.state('replaced');
        return;
      case 'rate_limited':
        this.retryLater(10_000);
        return;
      default:
        // slow_consumer, server_shutdown, internal_error: the transport closes and socket.io-client reconnects.
        return;
    }
  }
}
