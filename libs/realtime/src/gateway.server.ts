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
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { Server, type Socket } from 'socket.io';
import { Encoder } from 'socket.io-parser';
import { z } from 'zod';
import { GATEWAY_CLUSTER, type GatewayCluster } from './cluster';
import { Connection } from './connection';
import { GatewayMetrics } from './gateway.metrics';
import { GatewayShutdown } from './gateway-shutdown';
import { InboundCommands } from './inbound-commands';
import { GatewayAdmission, refusal } from './gateway-admission';
import { HandshakeDecoder, MALFORMED_AUTH } from './handshake-decoder';
import { GatewayCode, eventFrame } from './protocol';
import type { Session } from './session';
import { SessionRegistry } from './session-registry';
import { SessionResumption } from './session-resume';
import { type SocketState, stateOf } from './socket-state';

export const GATEWAY_PATH = '/gateway';

const handshakeSchema = z.object({
  token: z.string().max(128).optional(),
  session_id: z.string().min(1).max(64).optional(),
  seq: z.number().int().nonnegative().optional(),
  batch: z.boolean().optional(),
});

/**
 * The gateway's transport: socket.io at `/gateway` on the HTTP server, the handshake (authentication and
 * admission), and each connection's life from connect (a new session or a resume) to disconnect. Sessions are
 * kept by SessionRegistry, resumes by SessionResumption, client events by InboundCommands, presence by
 * PresenceAnnouncer, draining by GatewayShutdown; routing by InterestRouter, a socket's outbound side by
 * Connection.
 */
@Injectable()
export class GatewayServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private io: Server | null = null;
  private handshaking = 0;

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly auth: AuthService,
    private readonly registry: SessionRegistry,
    private readonly resumption: SessionResumption,
    private readonly inbound: InboundCommands,
    private readonly shutdown: GatewayShutdown,
    private readonly admission: GatewayAdmission,
    private readonly metrics: GatewayMetrics,
    private readonly log: AppLogger,
    @Optional() @Inject(GATEWAY_CLUSTER) private readonly cluster?: GatewayCluster,
  ) {
    metrics.source = () => ({ sockets: this.socketCount, sessions: this.registry.counts() });
  }

  onApplicationBootstrap(): void {
    this.resumption.serve();
    this.cluster?.onEventsLost(() => this.registry.eventsLost());
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
      // A handshake whose auth is not an object is refused with connect_error, not a silent transport close.
      parser: { Encoder, Decoder: HandshakeDecoder },
      allowRequest: (_req, callback) =>
        callback(this.shutdown.closing ? 'server shutting down' : null, !this.shutdown.closing),
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
    return this.registry.get(id);
  }

  get socketCount(): number {
    return this.io?.of('/').sockets.size ?? 0;
  }

  /** SIGTERM: see GatewayShutdown. */
  async beforeApplicationShutdown(): Promise<void> {
    const io = this.io;
    if (!io) return;
    await this.shutdown.drain(io);
    this.io = null;
  }

  private async handshake(socket: Socket): Promise<void> {
    if (this.shutdown.closing) {
      this.metrics.rejected.inc({ reason: 'shutdown' });
      throw refusal(GatewayCode.SERVER_SHUTDOWN, 'The server is shutting down; reconnect shortly');
    }
    if (this.cluster && !this.cluster.connected) {
      this.metrics.rejected.inc({ reason: 'bus_unavailable' });
      throw refusal(GatewayCode.UNKNOWN_ERROR, 'The gateway is temporarily unavailable; reconnect shortly');
    }
    if (this.socketCount + this.handshaking >= this.config.gateway.max_connections) {
      this.metrics.rejected.inc({ reason: 'max_connections' });
      throw refusal(GatewayCode.TOO_MANY_CONNECTIONS, 'Too many connections on this gateway; retry later');
    }
    this.handshaking++;
    try {
      const address = this.admission.address(socket.request);
      await this.admission.handshake(address);
      const auth = this.readAuth(socket.handshake.auth);
      const verified = auth.token ? await this.auth.verify(auth.token) : null;
      if (!verified) {
        this.metrics.rejected.inc({ reason: 'authentication' });
        throw refusal(GatewayCode.AUTHENTICATION_FAILED, 'Authentication failed');
      }
      const release = await this.admission.claim(socket.id, verified.userId, address);
      // However the connection ends (even before it is announced as connected), its places come free.
      socket.conn.once('close', release);
      const state: SocketState = {
        userId: verified.userId,
        tokenHash: verified.tokenHash,
        resume: auth.session_id !== undefined ? { sessionId: auth.session_id, seq: auth.seq ?? 0 } : null,
        batch: auth.batch ?? false,
        session: null,
        conn: null,
        rate: { start: Date.now(), count: 0 },
        release,
      };
      socket.data = state;
    } finally {
      this.handshaking--;
    }
  }

  /** The handshake's `auth`: wrong types are 4002, an oversize one 4012; a missing or bad token is left to auth. */
  private readAuth(auth: unknown): z.infer<typeof handshakeSchema> {
    const g = this.config.gateway;
    const size = auth === MALFORMED_AUTH ? 0 : Buffer.byteLength(JSON.stringify(auth) ?? '');
    if (size > g.max_payload) {
      this.metrics.rejected.inc({ reason: 'payload_too_large' });
      throw refusal(
        GatewayCode.PAYLOAD_TOO_LARGE,
        `Handshake auth of ${size} bytes is over the ${g.max_payload} byte limit`,
      );
    }
    const parsed = auth === MALFORMED_AUTH ? null : handshakeSchema.safeParse(auth);
    if (parsed?.success) return parsed.data;
    // A token over 128 characters is no token of ours: authentication fails like any other bad token.
    const tooLong = parsed?.error.issues.every((i) => i.path[0] === 'token' && i.code === 'too_big');
    if (tooLong) return {};
    this.metrics.rejected.inc({ reason: 'malformed_handshake' });
    throw refusal(
      GatewayCode.MALFORMED_PAYLOAD,
      'Handshake auth takes {token: string, session_id?: string, seq?: integer >= 0, batch?: boolean}',
    );
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
    socket.use(([event, ...args], _next) => this.inbound.handle(socket, String(event), args));
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
      if (session) this.registry.destroy(session);
    });
  }

  private async open(socket: Socket, conn: Connection): Promise<void> {
    const state = stateOf(socket);
    if (state.resume) {
      if (await this.resumption.resume(state, conn, state.resume)) return;
      if (!conn.isOpen) return;
      conn.send(eventFrame('INVALID_SESSION', { d: { resumable: false } }));
    }
    await this.registry.start(state, conn, (session) => {
      state.session = session;
    });
  }

  private onDisconnect(socket: Socket, reason: string): void {
    this.metrics.disconnects.inc({ reason: reason.replace(/\s+/g, '_') });
    const state = stateOf(socket);
    const session = state.session;
    state.release();
    if (!session || session.conn !== state.conn) return;
    // An explicit disconnect() from the client ends the session; anything else leaves it resumable.
    if (session.state === 'initialising' || reason === 'client namespace disconnect')
      this.registry.destroy(session);
    else this.registry.detach(session);
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
    if (session && session.conn === conn) this.registry.detach(session);
  }
}
