import { Inject, Injectable } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import {
  PRESENCE_STATUSES,
  RATE_LIMITER,
  type RateDecision,
  type RateLimiter,
  type RateRule,
} from '@parley/state';
import type { Socket } from 'socket.io';
import { z } from 'zod';
import type { Connection } from './connection';
import { GatewayMetrics } from './gateway.metrics';
import { MAX_RANGES, MemberLists, RANGE_SIZE, guildSubscriptionSchema } from './member-list/member-lists';
import { PresenceAnnouncer } from './presence-announcer';
import { GatewayCode, type GatewayCodeValue, INBOUND_EVENTS, eventFrame } from './protocol';
import type { Session } from './session';
import { SessionRegistry } from './session-registry';
import { type SocketState, stateOf } from './socket-state';

const presenceSchema = z.strictObject({ status: z.enum(PRESENCE_STATUSES) });

type Ack = (response: unknown) => void;

/**
 * Client-to-server events: the inbound limits (per socket, and per user across their sockets and resumes),
 * size and shape checks, and the commands themselves (`PRESENCE_UPDATE`, limited per user before it fans
 * out). A refused event gets `ERROR` (and a failed ack); the connection stays up unless a rate is exceeded.
 */
@Injectable()
export class InboundCommands {
  private readonly limited: boolean;

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    @Inject(RATE_LIMITER) private readonly limiter: RateLimiter,
    private readonly registry: SessionRegistry,
    private readonly presence: PresenceAnnouncer,
    private readonly memberLists: MemberLists,
    private readonly metrics: GatewayMetrics,
    private readonly log: AppLogger,
  ) {
    this.limited = config.rate_limits.enabled;
  }

  /** Every inbound event of a connected socket goes through here; socket.io's own listeners are never reached. */
  handle(socket: Socket, event: string, args: unknown[]): void {
    const state = stateOf(socket);
    const conn = state.conn;
    if (!conn) return;
    const g = this.config.gateway;
    const now = Date.now();
    if (now - state.rate.start >= g.inbound_rate.window_ms) state.rate = { start: now, count: 0 };
    if (++state.rate.count > g.inbound_rate.limit) return this.rateLimited(state, conn);
    const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as Ack) : undefined;
    if (!this.limited) return this.command(state, conn, event, args, ack);
    // Per user as well: a flood spread over several sockets, or resumed after a disconnect, counts as one.
    this.limit(`gw:in:${state.userId}`, g.user_inbound_rate, conn, ack, (decision) => {
      if (decision.allowed) this.command(state, conn, event, args, ack);
      else this.rateLimited(state, conn);
    });
  }

  private command(
    state: SocketState,
    conn: Connection,
    event: string,
    args: unknown[],
    ack: Ack | undefined,
  ): void {
    const g = this.config.gateway;
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
    if (event === 'GUILD_SUBSCRIPTIONS') return this.guildSubscriptions(session, conn, args, ack);
    const parsed = presenceSchema.safeParse(args[0]);
    if (!parsed.success || args.length !== 1) {
      return this.refuse(
        conn,
        GatewayCode.MALFORMED_PAYLOAD,
        'PRESENCE_UPDATE takes {status: "online" | "idle" | "dnd" | "invisible"}',
        ack,
      );
    }
    const status = parsed.data.status;
    const choose = () =>
      this.presence.choose(session, status).then(
        () => ack?.({ ok: true, status }),
        (err: unknown) => {
          this.log.warn({ err }, 'presence update failed');
          this.refuse(conn, GatewayCode.UNKNOWN_ERROR, 'Presence could not be updated', ack);
        },
      );
    if (!this.limited) return void choose();
    // Each chosen status fans out to every guild of the user: limited per user before it goes anywhere.
    this.limit(`gw:pr:${session.userId}`, g.presence_rate, conn, ack, (decision) => {
      if (decision.allowed) return void choose();
      this.refuse(
        conn,
        GatewayCode.RATE_LIMITED,
        'Too many presence updates; retry later',
        ack,
        decision.resetAfterMs,
      );
    });
  }

  /**
   * Member-list ranges of one channel of a guild (Discord's op 14), answered with GUILD_MEMBER_LIST_UPDATE; and
   * whether to get typing in the guild when it is large.
   */
  private guildSubscriptions(
    session: Session,
    conn: Connection,
    args: unknown[],
    ack: Ack | undefined,
  ): void {
    const parsed = guildSubscriptionSchema.safeParse(args[0]);
    if (!parsed.success || args.length !== 1) {
      return this.refuse(
        conn,
        GatewayCode.MALFORMED_PAYLOAD,
        `GUILD_SUBSCRIPTIONS takes {guild_id, channels?: {channel_id: [[start, end], ...]}, typing?: boolean} (at most one channel, ${MAX_RANGES} ranges of ${RANGE_SIZE} rows)`,
        ack,
      );
    }
    this.memberLists.subscribe(session, parsed.data).then(
      () => ack?.({ ok: true }),
      (err: unknown) => {
        this.log.warn({ err }, 'member list subscription failed');
        this.refuse(conn, GatewayCode.UNKNOWN_ERROR, 'The member list could not be read; retry shortly', ack);
      },
    );
  }

  /** Consumes from a bucket (in Redis, asynchronously; in memory, at once) and continues with the decision. */
  private limit(
    key: string,
    rule: RateRule,
    conn: Connection,
    ack: Ack | undefined,
    then: (decision: RateDecision) => void,
  ): void {
    const fail = (err: unknown) => {
      this.log.warn({ err }, 'gateway limits unavailable');
      this.refuse(conn, GatewayCode.UNKNOWN_ERROR, 'Limits are unavailable; retry shortly', ack);
    };
    try {
      const decision = this.limiter.consume(key, rule);
      if (decision instanceof Promise) decision.then(then, fail);
      else then(decision);
    } catch (err) {
      fail(err);
    }
  }

  private rateLimited(state: SocketState, conn: Connection): void {
    this.metrics.inboundErrors.inc({ code: String(GatewayCode.RATE_LIMITED) });
    const session = state.session;
    conn.close({
      code: GatewayCode.RATE_LIMITED,
      reason: 'rate_limited',
      resumable: true,
      reconnect: false,
    });
    if (session && session.conn === conn) this.registry.detach(session);
  }

  private refuse(
    conn: Connection,
    code: GatewayCodeValue,
    message: string,
    ack?: Ack,
    retryAfterMs?: number,
  ): void {
    this.metrics.inboundErrors.inc({ code: String(code) });
    const body =
      retryAfterMs === undefined
        ? { code, message }
        : { code, message, retry_after: Math.ceil(retryAfterMs / 100) / 10 };
    conn.send(eventFrame('ERROR', body));
    ack?.({ ok: false, ...body });
  }
}
