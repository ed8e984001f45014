import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApplicationFlag, AuthService, DISCORD_GATEWAY_PATH } from '@parley/auth';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { z } from 'zod';
import { GatewayAdmission } from '../gateway-admission';
import { GatewayMetrics } from '../gateway.metrics';
import { GatewayShutdown } from '../gateway-shutdown';
import { GatewayCode } from '../protocol';
import type { Session } from '../session';
import type { SessionOwner } from '../session-connection';
import { SessionRegistry } from '../session-registry';
import { SessionResumption } from '../session-resume';
import { DiscordConnection } from './discord-connection';
import {
  ALL_INTENTS,
  DiscordClose,
  Intent,
  Op,
  discordSessionPrefix,
  intentsOfSessionId,
} from './discord-protocol';
import { shapeDiscordReady } from './discord-ready';
import { MemberChunks } from './member-chunks';
import { MemberLists, guildSubscriptionSchema } from '../member-list/member-lists';

const identifySchema = z.object({
  token: z.string().min(1).max(200),
  intents: z.number().int().min(0),
  properties: z.record(z.string(), z.unknown()).optional(),
  compress: z.boolean().optional(),
  large_threshold: z.number().int().optional(),
  shard: z.tuple([z.number().int(), z.number().int()]).optional(),
  presence: z.unknown().optional(),
});
const resumeSchema = z.object({
  token: z.string().min(1).max(200),
  session_id: z.string().min(1).max(64),
  seq: z.number().int().nonnegative().nullable(),
});
const payloadSchema = z.object({ op: z.number().int(), d: z.unknown().optional() });

/** One Discord-protocol socket: who it is once IDENTIFY or RESUME said so (the resume code's view of it). */
interface DiscordClient extends SessionOwner {
  id: string;
  conn: DiscordConnection;
  address: string;
  session: Session | null;
  /** Set from IDENTIFY/RESUME on, until the socket closes. */
  authenticating: boolean;
  release: (() => void) | null;
  heartbeatDeadline: NodeJS.Timeout | null;
  inbound: { start: number; count: number };
  resumeUrl: string;
}

/**
 * Discord's gateway protocol v10 (JSON, optionally zlib-stream) as a second transport of the same gateway: a
 * raw WebSocket at `/discord-gateway` whose sessions are SessionRegistry's sessions, routed by the same
 * InterestRouter with the same permission checks, resumed by the same SessionResumption (on any node) and
 * drained by the same GatewayShutdown. Only the framing, the handshake (HELLO/IDENTIFY/RESUME) and intents
 * are this transport's own. `ws` serves it: the maintained WebSocket server socket.io itself runs on.
 */
@Injectable()
export class DiscordGatewayServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private wss: WebSocketServer | null = null;
  private readonly clients = new Set<DiscordClient>();

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly auth: AuthService,
    private readonly registry: SessionRegistry,
    private readonly resumption: SessionResumption,
    private readonly shutdown: GatewayShutdown,
    private readonly admission: GatewayAdmission,
    private readonly metrics: GatewayMetrics,
    private readonly memberChunks: MemberChunks,
    private readonly memberLists: MemberLists,
    private readonly log: AppLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.attach(this.adapterHost.httpAdapter.getHttpServer() as HttpServer);
  }

  attach(server: HttpServer): void {
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.config.gateway.max_payload,
      perMessageDeflate: false,
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      // With or without a trailing slash: Eris (and others) append `/` to the URL GET /gateway gave them.
      if (url.pathname !== DISCORD_GATEWAY_PATH && url.pathname !== `${DISCORD_GATEWAY_PATH}/`) return; // socket.io's (or nobody's) upgrade
      const refused = this.refuseUpgrade(url);
      if (refused) {
        socket.end(`HTTP/1.1 ${refused}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req, url));
    });
    this.wss = wss;
  }

  get socketCount(): number {
    return this.clients.size;
  }

  /** Sessions are drained by GatewayShutdown with the socket.io ones; sockets still unidentified close here. */
  async beforeApplicationShutdown(): Promise<void> {
    for (const client of this.clients) {
      if (!client.session) client.conn.close({ ...SHUTDOWN });
    }
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    this.wss = null;
  }

  private refuseUpgrade(url: URL): string | null {
    if (this.shutdown.closing) return '503 Service Unavailable';
    const encoding = url.searchParams.get('encoding') ?? 'json';
    const compress = url.searchParams.get('compress');
    // ETF is Erlang's term format: Discord clients fall back to JSON, which is all Parley speaks.
    if (encoding !== 'json' || (compress !== null && compress !== 'zlib-stream')) return '400 Bad Request';
    return null;
  }

  private onConnection(ws: WebSocket, req: IncomingMessage, url: URL): void {
    const g = this.config.gateway;
    const version = Number(url.searchParams.get('v') ?? '10');
    const client: DiscordClient = {
      id: randomUUID(),
      userId: '',
      tokenHash: '',
      batch: false,
      session: null,
      authenticating: false,
      release: null,
      heartbeatDeadline: null,
      inbound: { start: Date.now(), count: 0 },
      address: this.admission.address(req),
      resumeUrl:
        this.config.gateway.discord_url || `ws://${req.headers.host ?? 'localhost'}${DISCORD_GATEWAY_PATH}`,
      conn: undefined as unknown as DiscordConnection,
    };
    client.conn = new DiscordConnection(
      ws,
      () => client.userId,
      { limit: g.client_buffer_size, zlibStream: url.searchParams.get('compress') === 'zlib-stream' },
      (conn) => this.slowConsumer(client, conn),
    );
    this.clients.add(client);
    ws.on('message', (data) => this.onMessage(client, data));
    ws.on('close', () => this.onClose(client));
    ws.on('error', (err) => this.log.debug({ err }, 'discord gateway socket error'));
    if (version < 6 || version > 10) {
      client.conn.end(DiscordClose.INVALID_API_VERSION, 'Invalid API version');
      return;
    }
    client.conn.op(Op.HELLO, { heartbeat_interval: g.heartbeat_interval });
    this.expectHeartbeat(client);
  }

  /** Zombie detection: a client that stops heartbeating is closed (4009); its session stays resumable. */
  private expectHeartbeat(client: DiscordClient): void {
    if (client.heartbeatDeadline) clearTimeout(client.heartbeatDeadline);
    const g = this.config.gateway;
    client.heartbeatDeadline = setTimeout(() => {
      this.metrics.disconnects.inc({ reason: 'discord_heartbeat_timeout' });
      client.conn.end(DiscordClose.SESSION_TIMED_OUT, 'Session timed out');
    }, g.heartbeat_interval + g.heartbeat_timeout);
    client.heartbeatDeadline.unref();
  }

  private onMessage(client: DiscordClient, data: RawData): void {
    const limit = this.config.gateway.inbound_rate;
    const now = Date.now();
    if (now - client.inbound.start > limit.window_ms) client.inbound = { start: now, count: 0 };
    if (++client.inbound.count > limit.limit) {
      client.conn.end(DiscordClose.RATE_LIMITED, 'You are being rate limited.');
      return;
    }
    let payload: z.infer<typeof payloadSchema>;
    try {
      const text = textOf(data);
      payload = payloadSchema.parse(JSON.parse(text));
    } catch {
      client.conn.end(DiscordClose.DECODE_ERROR, 'Error while decoding payload.');
      return;
    }
    switch (payload.op) {
      case Op.HEARTBEAT:
        this.expectHeartbeat(client);
        client.conn.op(Op.HEARTBEAT_ACK, null);
        return;
      case Op.IDENTIFY:
        void this.identify(client, payload.d).catch((err: unknown) => this.failed(client, err));
        return;
      case Op.RESUME:
        void this.resume(client, payload.d).catch((err: unknown) => this.failed(client, err));
        return;
      case Op.REQUEST_GUILD_MEMBERS:
        void this.requestMembers(client, payload.d).catch((err: unknown) => this.failed(client, err));
        return;
      case Op.GUILD_SUBSCRIPTIONS:
        this.guildSubscriptions(client, payload.d);
        return;
      case Op.PRESENCE_UPDATE:
      case Op.VOICE_STATE_UPDATE:
      case Op.REQUEST_SOUNDBOARD_SOUNDS:
        // Accepted and not acted on yet (docs/discord-compatibility.md); refusing would close the bot.
        if (!client.session) client.conn.end(DiscordClose.NOT_AUTHENTICATED, 'Not authenticated.');
        return;
      default:
        client.conn.end(DiscordClose.UNKNOWN_OPCODE, 'Unknown opcode.');
    }
  }

  private async authenticate(client: DiscordClient, token: string): Promise<boolean> {
    if (client.session || client.authenticating) {
      client.conn.end(DiscordClose.ALREADY_AUTHENTICATED, 'Already authenticated.');
      return false;
    }
    client.authenticating = true;
    try {
      await this.admission.handshake(client.address);
      const verified = await this.auth.verify(token.replace(/^(?:Bot|Bearer)\s+/i, ''));
      if (!verified) {
        this.metrics.rejected.inc({ reason: 'authentication' });
        client.conn.end(DiscordClose.AUTHENTICATION_FAILED, 'Authentication failed.');
        return false;
      }
      client.userId = verified.userId;
      client.tokenHash = verified.tokenHash;
      client.release ??= await this.admission.claim(client.id, verified.userId, client.address);
      if (!client.conn.isOpen) client.release();
      return client.conn.isOpen;
    } catch (err) {
      const code = (err as { data?: { code?: number } }).data?.code;
      if (code === undefined) throw err;
      client.conn.end(
        code === GatewayCode.UNKNOWN_ERROR ? DiscordClose.UNKNOWN_ERROR : DiscordClose.RATE_LIMITED,
        (err as Error).message,
      );
      return false;
    } finally {
      client.authenticating = false;
    }
  }

  private async identify(client: DiscordClient, d: unknown): Promise<void> {
    const parsed = identifySchema.safeParse(d);
    if (!parsed.success) {
      client.conn.end(DiscordClose.DECODE_ERROR, 'Invalid IDENTIFY payload.');
      return;
    }
    const { token, intents, shard } = parsed.data;
    if (shard && (shard[1] < 1 || shard[0] !== 0 || shard[1] !== 1)) {
      client.conn.end(
        DiscordClose.INVALID_SHARD,
        'Invalid shard: Parley serves every guild on shard [0, 1].',
      );
      return;
    }
    if ((intents & ~ALL_INTENTS) !== 0) {
      client.conn.end(DiscordClose.INVALID_INTENTS, 'Invalid intent(s).');
      return;
    }
    if (!(await this.authenticate(client, token))) return;
    const user = await this.auth.me(client.userId);
    const flags = user.appFlags ?? 0;
    if (user.botOwnerId && (intents & ~allowedIntents(flags)) !== 0) {
      client.conn.end(DiscordClose.DISALLOWED_INTENTS, 'Disallowed intent(s).');
      return;
    }
    client.conn.intents = intents;
    client.sessionIdPrefix = discordSessionPrefix(intents);
    client.shapeReady = (session, snapshot) =>
      shapeDiscordReady(session, snapshot, {
        resumeGatewayUrl: client.resumeUrl,
        application: { id: user.id, flags },
      });
    await this.registry.start(client, client.conn, (session) => {
      client.session = session;
    });
  }

  private async resume(client: DiscordClient, d: unknown): Promise<void> {
    const parsed = resumeSchema.safeParse(d);
    if (!parsed.success) {
      client.conn.end(DiscordClose.DECODE_ERROR, 'Invalid RESUME payload.');
      return;
    }
    const { token, session_id: sessionId, seq } = parsed.data;
    if (!(await this.authenticate(client, token))) return;
    const intents = intentsOfSessionId(sessionId);
    if (intents !== null) {
      client.conn.intents = intents;
      if (await this.resumption.resume(client, client.conn, { sessionId, seq: seq ?? 0 })) return;
    }
    // Discord's answer to a session that cannot be resumed: INVALID_SESSION (not resumable); the client
    // waits a moment and sends IDENTIFY on this same socket.
    client.session = null;
    client.conn.intents = null;
    if (client.conn.isOpen) client.conn.op(Op.INVALID_SESSION, false);
  }

  private async requestMembers(client: DiscordClient, d: unknown): Promise<void> {
    const session = client.session;
    if (!session || client.conn.intents === null) {
      client.conn.end(DiscordClose.NOT_AUTHENTICATED, 'Not authenticated.');
      return;
    }
    const outcome = await this.memberChunks.answer(session, client.conn.intents, d);
    if (outcome === 'malformed') client.conn.end(DiscordClose.DECODE_ERROR, 'Invalid REQUEST_GUILD_MEMBERS.');
    if (outcome === 'intents')
      client.conn.end(DiscordClose.DISALLOWED_INTENTS, 'Listing every member needs GUILD_MEMBERS.');
  }

  private guildSubscriptions(client: DiscordClient, d: unknown): void {
    const session = client.session;
    if (!session || session.state !== 'live') {
      client.conn.end(DiscordClose.NOT_AUTHENTICATED, 'Not authenticated.');
      return;
    }
    const parsed = guildSubscriptionSchema.safeParse(d);
    if (!parsed.success) {
      client.conn.end(DiscordClose.DECODE_ERROR, 'Invalid guild subscription payload.');
      return;
    }
    this.memberLists.subscribe(session, parsed.data).catch((err: unknown) => {
      this.log.warn({ err, guild: parsed.data.guild_id }, 'member list subscription failed');
    });
  }

  private failed(client: DiscordClient, err: unknown): void {
    this.log.error({ err, user: client.userId }, 'discord gateway session start failed');
    const session = client.session;
    client.conn.end(DiscordClose.UNKNOWN_ERROR, 'internal_error');
    if (session) this.registry.destroy(session);
  }

  private onClose(client: DiscordClient): void {
    this.clients.delete(client);
    if (client.heartbeatDeadline) clearTimeout(client.heartbeatDeadline);
    client.release?.();
    client.release = null;
    const session = client.session;
    if (!session || session.conn !== client.conn) return;
    if (session.state === 'initialising') this.registry.destroy(session);
    else this.registry.detach(session);
  }

  private slowConsumer(client: DiscordClient, conn: DiscordConnection): void {
    this.metrics.slowConsumers.inc();
    this.log.warn(
      { session: client.session?.id, pending: conn.pending },
      'discord gateway slow consumer disconnected',
    );
    conn.close({
      code: GatewayCode.SLOW_CONSUMER,
      reason: 'slow_consumer',
      resumable: true,
      reconnect: true,
    });
    const session = client.session;
    if (session && session.conn === conn) this.registry.detach(session);
  }
}

const SHUTDOWN = {
  code: GatewayCode.SERVER_SHUTDOWN,
  reason: 'server_shutdown',
  resumable: false,
  reconnect: true,
} as const;

/** A frame's text (text or binary frames alike: JSON either way). */
function textOf(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** The intents a bot may ask for: every unprivileged one, and the privileged ones its application flags allow. */
function allowedIntents(flags: number): number {
  let allowed = ALL_INTENTS & ~(Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT);
  if (flags & (ApplicationFlag.GATEWAY_GUILD_MEMBERS | ApplicationFlag.GATEWAY_GUILD_MEMBERS_LIMITED))
    allowed |= Intent.GUILD_MEMBERS;
  if (flags & (ApplicationFlag.GATEWAY_PRESENCE | ApplicationFlag.GATEWAY_PRESENCE_LIMITED))
    allowed |= Intent.GUILD_PRESENCES;
  if (flags & (ApplicationFlag.GATEWAY_MESSAGE_CONTENT | ApplicationFlag.GATEWAY_MESSAGE_CONTENT_LIMITED))
    allowed |= Intent.MESSAGE_CONTENT;
  return allowed;
}
