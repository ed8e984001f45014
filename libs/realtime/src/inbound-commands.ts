import { Inject, Injectable } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { PRESENCE_STATUSES } from '@parley/state';
import type { Socket } from 'socket.io';
import { z } from 'zod';
import type { Connection } from './connection';
import { GatewayMetrics } from './gateway.metrics';
import { PresenceAnnouncer } from './presence-announcer';
import { GatewayCode, type GatewayCodeValue, INBOUND_EVENTS, eventFrame } from './protocol';
import { SessionRegistry } from './session-registry';
import { stateOf } from './socket-state';

const presenceSchema = z.strictObject({ status: z.enum(PRESENCE_STATUSES) });

type Ack = (response: unknown) => void;

/**
 * Client-to-server events: the inbound rate limit, size and shape checks, and the commands themselves
 * (`PRESENCE_UPDATE`). A refused event gets `ERROR` (and a failed ack); the connection stays up.
 */
@Injectable()
export class InboundCommands {
  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly registry: SessionRegistry,
    private readonly presence: PresenceAnnouncer,
    private readonly metrics: GatewayMetrics,
    private readonly log: AppLogger,
  ) {}

  /** Every inbound event of a connected socket goes through here; socket.io's own listeners are never reached. */
  handle(socket: Socket, event: string, args: unknown[]): void {
    const state = stateOf(socket);
    const conn = state.conn;
    if (!conn) return;
    const g = this.config.gateway;
    const now = Date.now();
    if (now - state.rate.start >= g.inbound_rate.window_ms) state.rate = { start: now, count: 0 };
    if (++state.rate.count > g.inbound_rate.limit) {
      this.metrics.inboundErrors.inc({ code: String(GatewayCode.RATE_LIMITED) });
      const session = state.session;
      conn.close({
        code: GatewayCode.RATE_LIMITED,
        reason: 'rate_limited',
        resumable: true,
        reconnect: false,
      });
      if (session && session.conn === conn) this.registry.detach(session);
      return;
    }
    const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
    const size = Buffer.byteLength(JSON.stringify(args) ?? '');
    if (size > g.max_payload)
      return this.refuse(
        conn,
        GatewayCode.PAYLOAD_TOO_LARGE,
        `Payload of ${size} bytes is over the ${g.max_payload} byte limit`,
        ack,
      );
    if (!INBOUND_EVENTS.has(event))
      return this.refuse(conn, GatewayCode.UNKNOWN_EVENT, `Unknown event "${event.slice(0, 64)}"`, ack);
    const session = state.session;
    if (!session || session.state !== 'live' || session.conn !== conn) {
      return this.refuse(conn, GatewayCode.NOT_READY, 'Send events after READY or RESUMED', ack);
    }
    const parsed = presenceSchema.safeParse(args[0]);
    if (!parsed.success || args.length !== 1) {
      return this.refuse(
        conn,
        GatewayCode.MALFORMED_PAYLOAD,
        'PRESENCE_UPDATE takes {status: "online" | "idle" | "dnd" | "invisible"}',
        ack,
      );
    }
    this.presence.choose(session, parsed.data.status).then(
      () => ack?.({ ok: true, status: parsed.data.status }),
      (err: unknown) => {
        this.log.warn({ err }, 'presence update failed');
        this.refuse(conn, GatewayCode.UNKNOWN_ERROR, 'Presence could not be updated', ack);
      },
    );
  }

  private refuse(conn: Connection, code: GatewayCodeValue, message: string, ack?: Ack): void {
    this.metrics.inboundErrors.inc({ code: String(code) });
    conn.send(eventFrame('ERROR', { code, message }));
    ack?.({ ok: false, code, message });
  }
}
