import { randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AuthService } from '@parley/auth';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { ReadyService } from '@parley/chat';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import {
  PRESENCE_STATUSES,
  PRESENCE_STORE,
  type PresenceChange,
  type PresenceStore,
  RESUME_STORE,
  type ResumeStore,
} from '@parley/state';
import type { Socket as EngineSocket } from 'engine.io';
import { Server, type Socket } from 'socket.io';
import { z } from 'zod';
import { GATEWAY_CLUSTER, type GatewayCluster, type SessionRelease } from './cluster';
import { Connection } from './connection';
import { GatewayMetrics } from './gateway.metrics';
import { InterestRouter } from './interest-router';
import {
  type ClosePayload,
  GatewayCode,
  type GatewayCodeValue,
  INBOUND_EVENTS,
  eventFrame,
  serialise,
} from './protocol';
import { ReadyPresences } from './ready-presences';
import { Session } from './session';

export const GATEWAY_PATH = '/gateway';

const handshakeSchema = z.object({
  token: z.string().min(1).max(128),
  session_id: z.string().min(1).max(64).optional(),
  seq: z.number().int().nonnegative().optional(),
  batch: z.boolean().optional(),
});

const presenceSchema = z.strictObject({ status: z.enum(PRESENCE_STATUSES) });

interface SocketState {
  userId: string;
  tokenHash: string;
  resume: { sessionId: string; seq: number } | null;
  batch: boolean;
  session: Session | null;
  conn: Connection | null;
  rate: { start: number; count: number };
}

type Ack = (response: unknown) => void;

/** An error for the handshake middleware: socket.io-client sees it as `connect_error` with `err.data`. */
function refusal(
  code: GatewayCodeValue,
  message: string,
): Error & { data: { code: number; message: string } } {
  return Object.assign(new Error(message), { data: { code, message } });
}

function stateOf(socket: Socket): SocketState {
  return socket.data as SocketState;
}

/**
 * The socket.io gateway at `/gateway` on the HTTP server: handshake auth, sessions and READY, resume,
 * presence, inbound events and limits, shutdown. Routing lives in InterestRouter, the outbound side of a
 * socket in Connection, the numbered stream in Session.
 */
@Injectable()
export class GatewayServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private io: Server | null = null;
  private readonly sessions = new Map<string, Session>();
  private closing = false;
  private handshaking = 0;
  private readonly present = new WeakSet<Session>();

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly router: InterestRouter,
    private readonly auth: AuthService,
    private readonly ready: ReadyService,
    @Inject(RESUME_STORE) private readonly store: ResumeStore,
    @Inject(PRESENCE_STORE) private readonly presence: PresenceStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly metrics: GatewayMetrics,
    private readonly log: AppLogger,
    private readonly readyPresences: ReadyPresences,
    @Optional() @Inject(GATEWAY_CLUSTER) private readonly cluster?: GatewayCluster,
  ) {
    router.hooks = {
      tokenRevoked: (userId, tokenHash) => this.revoke(userId, tokenHash),
      routingFailed: (sessions, err) => {
        this.log.error(
          { err, sessions: sessions.length },
          'gateway routing recompute failed; restarting sessions',
        );
        for (const s of sessions)
          this.end(s, {
            code: GatewayCode.UNKNOWN_ERROR,
            reason: 'internal_error',
            resumable: false,
            reconnect: true,
          });
      },
    };
    metrics.source = () => this.counts();
  }

  onApplicationBootstrap(): void {
    this.cluster?.serve((sessionId, tokenHash) => this.release(sessionId, tokenHash));
    this.cluster?.onEventsLost(() => this.eventsLost());
    this.attach(this.adapterHost.httpAdapter.getHttpServer() as HttpServer);
  }

  /** Attaches socket.io to an HTTP server (the REST server in the monolith). */
  attach(server: HttpServer): void {
    const g = this.config.gateway;
    const io = new Server(server, {
      path: GATEWAY_PATH,
      serveClient: false,
      transports: g.transports,
      pingInterval: g.heartbeat_interval,
      pingTimeout: g.heartbeat_timeout,
      connectTimeout: g.heartbeat_timeout,
      // Frames up to max_payload are read; up to twice that they are answered with ERROR 4012; larger ones
      // close the connection in the WebSocket layer without being buffered.
      maxHttpBufferSize: g.max_payload * 2,
      perMessageDeflate: g.per_message_deflate ? { threshold: 1024 } : false,
      httpCompression: false,
      allowRequest: (_req, callback) => callback(this.closing ? 'server shutting down' : null, !this.closing),
    });
    if (this.cluster?.socketAdapter) io.adapter(this.cluster.socketAdapter);
    io.use((socket, next) => {
      this.handshake(socket).then(
        () => next(),
        (err: Error) => next(err),
      );
    });
    io.on('connection', (socket) => this.onConnection(socket));
    this.io = io;
  }

  /** Live view for tests and diagnostics. */
  session(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  get socketCount(): number {
    return this.io?.of('/').sockets.size ?? 0;
  }

  // --- handshake and session start ---------------------------------------------------------

  private async handshake(socket: Socket): Promise<void> {
    if (this.closing) {
      this.metrics.rejected.inc({ reason: 'shutdown' });
      throw refusal(GatewayCode.SERVER_SHUTDOWN, 'The server is shutting down; reconnect shortly');
    }
    if (this.cluster && !this.cluster.connected) {
      this.metrics.rejected.inc({ reason: 'bus_unavailable' });
      throw refusal(GatewayCode.UNKNOWN_ERROR, 'The gateway is temporarily unavailable; reconnect shortly');
    }
    const connected = this.io?.of('/').sockets.size ?? 0;
    if (connected + this.handshaking >= this.config.gateway.max_connections) {
      this.metrics.rejected.inc({ reason: 'max_connections' });
      throw refusal(GatewayCode.TOO_MANY_CONNECTIONS, 'Too many connections on this gateway; retry later');
    }
    this.handshaking++;
    try {
      const parsed = handshakeSchema.safeParse(socket.handshake.auth);
      const verified = parsed.success ? await this.auth.verify(parsed.data.token) : null;
      if (!parsed.success || !verified) {
        this.metrics.rejected.inc({ reason: 'authentication' });
        throw refusal(GatewayCode.AUTHENTICATION_FAILED, 'Authentication failed');
      }
      const { session_id, seq, batch } = parsed.data;
      const state: SocketState = {
        userId: verified.userId,
        tokenHash: verified.tokenHash,
        resume: session_id !== undefined ? { sessionId: session_id, seq: seq ?? 0 } : null,
        batch: batch ?? false,
        session: null,
        conn: null,
        rate: { start: Date.now(), count: 0 },
      };
      socket.data = state;
    } finally {
      this.handshaking--;
    }
  }

  private onConnection(socket: Socket): void {
    const state = stateOf(socket);
    const g = this.config.gateway;
    const conn = new Connection(
      socket,
      {
        limit: g.client_buffer_size,
        coalesceMs: g.write_coalescing_ms,
        batch: state.batch,
        closeGraceMs: g.heartbeat_timeout,
      },
      (c) => this.slowConsumer(socket, c),
    );
    state.conn = conn;
    // Every inbound event goes through here; socket.io's own listeners are never reached.
    socket.use(([event, ...args], _next) => this.inbound(socket, String(event), args));
    socket.on('disconnect', (reason) => this.onDisconnect(socket, reason));
    // One room per user: with the cluster adapter, io.in(`user:<id>`) reaches that user's sockets on every node.
    if (this.cluster) void socket.join(`user:${state.userId}`);
    this.open(socket, conn).catch((err: unknown) => {
      this.log.error({ err, user: state.userId }, 'gateway session start failed');
      const session = state.session;
      conn.close({
        code: GatewayCode.UNKNOWN_ERROR,
        reason: 'internal_error',
        resumable: false,
        reconnect: true,
      });
      if (session) this.destroy(session);
    });
  }

  private async open(socket: Socket, conn: Connection): Promise<void> {
    const state = stateOf(socket);
    if (state.resume) {
      if (await this.resume(socket, conn, state.resume)) return;
      if (!conn.isOpen) return;
      conn.send(eventFrame('INVALID_SESSION', { d: { resumable: false } }));
    }
    await this.startSession(socket, conn);
  }

  private async startSession(socket: Socket, conn: Connection): Promise<void> {
    const state = stateOf(socket);
    const g = this.config.gateway;
    const session = new Session(
      randomBytes(16).toString('base64url'),
      state.userId,
      state.tokenHash,
      this.store,
      g.event_retention,
    );
    session.batch = state.batch;
    session.conn = conn;
    state.session = session;
    this.sessions.set(session.id, session);
    this.store.open(session.id, { userId: session.userId, tokenHash: session.tokenHash }, g.event_retention);
    this.router.register(session);
    // Subscribed before the snapshot is read: whatever happens after the snapshot reaches the session.
    await this.router.establish(session);
    await this.bus.ready?.();
    const snapshot = await this.ready.snapshot(session.userId);
    // Read after the subscriptions: a change after this read reaches the session as PRESENCE_UPDATE after READY.
    const presences = snapshot
      ? await this.readyPresences
          .of(
            session.userId,
            snapshot.guilds.map((g) => g.id),
          )
          .catch((err: unknown) => {
            this.log.warn({ err }, 'READY presences unavailable; sending none');
            return [];
          })
      : [];
    if (session.state === 'closed') return;
    if (!snapshot || !conn.isOpen || session.conn !== conn) {
      this.destroy(session);
      if (!snapshot)
        conn.close({
          code: GatewayCode.AUTHENTICATION_FAILED,
          reason: 'token_revoked',
          resumable: false,
          reconnect: false,
        });
      return;
    }
    if (!session.start(serialise({ session_id: session.id, ...snapshot, presences }))) {
      this.end(session, {
        code: GatewayCode.UNKNOWN_ERROR,
        reason: 'internal_error',
        resumable: false,
        reconnect: true,
      });
      return;
    }
    this.present.add(session);
    this.announce(session, await this.presence.connect(session.userId, session.id), false);
  }

  // --- resume -----------------------------------------------------------------------------

  private async resume(
    socket: Socket,
    conn: Connection,
    request: { sessionId: string; seq: number },
  ): Promise<boolean> {
    const state = stateOf(socket);
    const session = this.sessions.get(request.sessionId);
    if (!session && this.cluster) return this.adopt(socket, conn, request, this.cluster);
    if (!session || session.state === 'closed' || session.state === 'initialising') {
      const result = await this.store.replay(request.sessionId, state.tokenHash, request.seq);
      this.metrics.resumes.inc({ outcome: result.ok ? 'unknown' : result.reason });
      return false;
    }
    if (session.tokenHash !== state.tokenHash) {
      // Someone else's session id: refuse without touching it.
      this.metrics.resumes.inc({ outcome: 'token_mismatch' });
      return false;
    }
    // The old socket may not have noticed its drop yet: this connection takes the session over.
    const previous = session.conn;
    if (previous && previous !== conn) {
      previous.close({
        code: GatewayCode.SESSION_REPLACED,
        reason: 'session_replaced',
        resumable: false,
        reconnect: false,
      });
    }
    if (session.expiry) clearTimeout(session.expiry);
    session.expiry = null;
    session.beginResume(conn);
    this.store.attach(session.id);
    const result =
      request.seq < 1
        ? ({ ok: false, reason: 'bad_seq' } as const)
        : await this.store.replay(session.id, state.tokenHash, request.seq);
    if (session.conn !== conn) return true; // another connection took it over meanwhile; this one is closing
    if (!result.ok) {
      this.metrics.resumes.inc({ outcome: result.reason });
      this.destroy(session);
      return false;
    }
    // A shared buffer (Redis) may have lost its last writes: replaying short of what was numbered is a gap.
    const bufferLast = result.entries.length > 0 ? result.entries[result.entries.length - 1].s : request.seq;
    if (bufferLast < session.lastSeq && !session.hasTailAfter(bufferLast)) {
      this.metrics.resumes.inc({ outcome: 'overflow' });
      this.destroy(session);
      return false;
    }
    state.session = session;
    const replayed = session.finishResume(result.entries, (n) =>
      serialise({ session_id: session.id, replayed: n }),
    );
    this.metrics.resumes.inc({ outcome: 'resumed' });
    this.log.debug({ session: session.id, replayed }, 'gateway session resumed');
    return true;
  }

  // --- sessions held by other nodes (microservices) ----------------------------------------

  /**
   * Resumes a session another gateway node holds: subscribe to its scopes here first (what is routed from now
   * on is kept), then ask that node to give it up (it stops recording and reports its last number), then
   * replay the shared buffer and what was kept here that the other node had not recorded. If the other node
   * cannot be reached, nothing proves the buffer complete: INVALID_SESSION.
   */
  private async adopt(
    socket: Socket,
    conn: Connection,
    request: { sessionId: string; seq: number },
    cluster: GatewayCluster,
  ): Promise<boolean> {
    const state = stateOf(socket);
    const where = await cluster.locate(request.sessionId).catch((err: unknown) => {
      this.log.warn({ err }, 'gateway session lookup failed');
      return null;
    });
    if (!where || where.node === cluster.node || request.seq < 1) {
      this.metrics.resumes.inc({ outcome: 'unknown' });
      return false;
    }
    if (where.tokenHash !== state.tokenHash || where.userId !== state.userId) {
      this.metrics.resumes.inc({ outcome: 'token_mismatch' });
      return false;
    }
    const g = this.config.gateway;
    const session = new Session(
      request.sessionId,
      state.userId,
      state.tokenHash,
      this.store,
      g.event_retention,
    );
    session.batch = state.batch;
    session.conn = conn;
    state.session = session;
    this.sessions.set(session.id, session);
    this.router.register(session);
    try {
      await this.router.establish(session);
      await this.bus.ready?.(); // subscribed at the bus before the other node stops recording
      const released = await cluster.release(where.node, session.id, state.tokenHash);
      if (!released) {
        this.metrics.resumes.inc({ outcome: 'unknown' });
        this.destroy(session);
        return false;
      }
      this.store.attach(session.id);
      const result = await this.store.replay(session.id, state.tokenHash, request.seq);
      if (session.state === 'closed' || session.conn !== conn) return true;
      const bufferLast = result.ok
        ? result.entries.length > 0
          ? result.entries[result.entries.length - 1].s
          : request.seq
        : -1;
      if (!result.ok || bufferLast !== released.lastSeq) {
        this.metrics.resumes.inc({ outcome: result.ok ? 'overflow' : result.reason });
        this.destroy(session);
        return false;
      }
      if (
        !session.adopt(released.lastSeq, result.entries, (n) =>
          serialise({ session_id: session.id, replayed: n }),
        )
      ) {
        this.metrics.resumes.inc({ outcome: 'overflow' });
        this.destroy(session);
        return false;
      }
      this.present.add(session);
      this.metrics.resumes.inc({ outcome: 'resumed' });
      this.announce(session, await this.presence.connect(session.userId, session.id), false);
      return true;
    } catch (err) {
      this.log.warn({ err, session: session.id, node: where.node }, 'gateway session handover failed');
      this.metrics.resumes.inc({ outcome: 'handover_failed' });
      this.destroy(session);
      return false;
    }
  }

  /** Another node resumes this session: stop recording it and say where numbering stopped. */
  private release(sessionId: string, tokenHash: string): SessionRelease | null {
    const session = this.sessions.get(sessionId);
    if (!session || session.tokenHash !== tokenHash) return null;
    if (session.state === 'closed' || session.state === 'initialising') return null;
    session.conn?.close({
      code: GatewayCode.SESSION_REPLACED,
      reason: 'session_replaced',
      resumable: false,
      reconnect: false,
    });
    if (session.expiry) clearTimeout(session.expiry);
    session.expiry = null;
    const lastSeq = session.lastSeq;
    // Not destroy(): the buffer and the presence entry live on, on the other node.
    session.state = 'closed';
    session.conn = null;
    this.router.unregister(session);
    this.sessions.delete(session.id);
    this.present.delete(session);
    return { lastSeq };
  }

  /**
   * The bus connection dropped: events routed meanwhile never reached this node, so no session here can
   * promise a gapless stream. Each restarts (INVALID_SESSION and a fresh READY on reconnect).
   */
  private eventsLost(): void {
    const sessions = [...this.sessions.values()];
    if (sessions.length > 0)
      this.log.warn({ sessions: sessions.length }, 'event bus lost; restarting sessions');
    for (const session of sessions) {
      if (session.state === 'closed') continue;
      this.end(
        session,
        { code: GatewayCode.UNKNOWN_ERROR, reason: 'internal_error', resumable: false, reconnect: true },
        false,
      );
    }
  }

  // --- ending ------------------------------------------------------------------------------

  private onDisconnect(socket: Socket, reason: string): void {
    this.metrics.disconnects.inc({ reason: reason.replace(/\s+/g, '_') });
    const state = stateOf(socket);
    const session = state.session;
    if (!session || session.conn !== state.conn) return;
    // An explicit disconnect() from the client ends the session; anything else leaves it resumable.
    if (session.state === 'initialising' || reason === 'client namespace disconnect') this.destroy(session);
    else this.detach(session);
  }

  private detach(session: Session): void {
    if (session.state === 'closed' || session.state === 'detached') return;
    session.detach();
    const ttl = this.config.gateway.session_ttl;
    this.store.detach(session.id, ttl);
    session.expiry = setTimeout(() => this.destroy(session), ttl);
    session.expiry.unref();
  }

  /** Closes the session's socket with a reason and ends the session for good. */
  private end(session: Session, payload: ClosePayload, announce = true): void {
    session.conn?.close(payload);
    this.destroy(session, announce);
  }

  private destroy(session: Session, announce = true): void {
    if (session.state === 'closed') return;
    if (session.expiry) clearTimeout(session.expiry);
    session.expiry = null;
    const guildIds = [...session.guilds.keys()];
    session.state = 'closed';
    session.conn = null;
    this.router.unregister(session);
    this.store.drop(session.id);
    this.sessions.delete(session.id);
    if (!this.present.has(session)) return;
    this.present.delete(session);
    const left = this.presence.disconnect(session.userId, session.id);
    if (announce) {
      left.then(
        (change) => this.announce(session, change, false, guildIds),
        (err: unknown) => this.log.warn({ err }, 'presence update failed'),
      );
    }
  }

  private slowConsumer(socket: Socket, conn: Connection): void {
    const session = stateOf(socket).session;
    this.metrics.slowConsumers.inc();
    this.log.warn(
      { session: session?.id, user: session?.userId, pending: conn.pending },
      'gateway slow consumer disconnected',
    );
    conn.close({
      code: GatewayCode.SLOW_CONSUMER,
      reason: 'slow_consumer',
      resumable: true,
      reconnect: true,
    });
    if (session && session.conn === conn) this.detach(session);
  }

  private revoke(userId: string, tokenHash: string): void {
    for (const session of [...this.router.sessionsOf(userId)]) {
      if (session.tokenHash !== tokenHash) continue;
      this.end(session, {
        code: GatewayCode.AUTHENTICATION_FAILED,
        reason: 'token_revoked',
        resumable: false,
        reconnect: false,
      });
    }
  }

  // --- presence ----------------------------------------------------------------------------

  /**
   * Guild-mates hear visible changes, except that a connect or disconnect (not `own`: not a chosen status) is
   * not announced in large guilds (gateway.presence_large_threshold); the user's own sessions hear their chosen
   * status. Every guild announcement waits for the same member-count lookup, so they go out in call order.
   */
  private announce(
    session: Session,
    change: PresenceChange,
    own: boolean,
    guildIds = [...session.guilds.keys()],
  ): void {
    if (change.before !== change.after && guildIds.length > 0) {
      this.readyPresences.large(guildIds).then(
        (large) => {
          for (const guildId of guildIds) {
            if (!own && large.has(guildId)) continue;
            this.bus.publish({
              type: 'PRESENCE_UPDATE',
              scope: { kind: 'guild', id: guildId },
              data: { user: { id: change.userId }, guild_id: guildId, status: change.after },
            });
          }
        },
        (err: unknown) => this.log.warn({ err }, 'presence announcement failed'),
      );
    }
    if (own) {
      this.bus.publish({
        type: 'PRESENCE_UPDATE',
        scope: { kind: 'user', id: change.userId },
        data: { user: { id: change.userId }, status: change.status },
      });
    }
  }

  // --- inbound -----------------------------------------------------------------------------

  private inbound(socket: Socket, event: string, args: unknown[]): void {
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
      if (session && session.conn === conn) this.detach(session);
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
    this.presence.setStatus(session.userId, parsed.data.status).then(
      (change) => {
        this.announce(session, change, true);
        ack?.({ ok: true, status: parsed.data.status });
      },
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

  // --- shutdown ----------------------------------------------------------------------------

  /** SIGTERM: refuse new connections, tell every client to reconnect (elsewhere), close every socket. */
  async beforeApplicationShutdown(): Promise<void> {
    const io = this.io;
    if (!io || this.closing) return;
    this.closing = true;
    for (const session of [...this.sessions.values()]) {
      // No offline presence: these users are about to reconnect to another node.
      this.end(
        session,
        { code: GatewayCode.SERVER_SHUTDOWN, reason: 'server_shutdown', resumable: false, reconnect: true },
        false,
      );
    }
    for (const socket of io.of('/').sockets.values()) {
      stateOf(socket).conn?.close({
        code: GatewayCode.SERVER_SHUTDOWN,
        reason: 'server_shutdown',
        resumable: false,
        reconnect: true,
      });
    }
    this.router.clear();
    // Give clients a moment to read CLOSE; then whatever is left is cut so the HTTP server can close.
    const deadline = Date.now() + Math.min(2000, this.config.gateway.heartbeat_timeout);
    while (io.engine.clientsCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const client of Object.values(
      (io.engine as unknown as { clients: Record<string, EngineSocket> }).clients,
    )) {
      client.close(true);
      (client.transport as unknown as { socket?: { terminate?: () => void } }).socket?.terminate?.();
    }
    io.engine.close();
    this.io = null;
  }

  private counts(): ReturnType<NonNullable<GatewayMetrics['source']>> {
    const sessions = { initialising: 0, live: 0, resuming: 0, detached: 0 };
    for (const s of this.sessions.values()) if (s.state !== 'closed') sessions[s.state]++;
    return { sockets: this.io?.of('/').sockets.size ?? 0, sessions };
  }
}
