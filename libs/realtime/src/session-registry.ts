import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { ReadyService } from '@parley/chat';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import { RESUME_STORE, type ResumeLimits, type ResumeStore } from '@parley/state';
import { GATEWAY_CLUSTER, type GatewayCluster } from './cluster';
import { intentsOfSessionId } from './discord/discord-protocol';
import type { SessionConnection, SessionOwner } from './session-connection';
import type { GatewayCounts } from './gateway.metrics';
import { InterestRouter } from './interest-router';
import { PresenceAnnouncer } from './presence-announcer';
import { type ClosePayload, GatewayCode, serialise } from './protocol';
import { ReadyPresences } from './ready-presences';
import { ReadyGate } from './ready-gate';
import { Session } from './session';

/** How long a session given up to another node keeps its buffer here, for that node to page through it. */
const HANDED_OVER_KEEP_MS = 30_000;

/**
 * The sessions this node holds, from READY to their end: starting one, keeping it resumable after a drop
 * (until `gateway.session_ttl`), ending it (revoked token, routing failure, lost events) and forgetting it.
 */
@Injectable()
export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly emptyWaiters: Array<() => void> = [];

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly router: InterestRouter,
    private readonly ready: ReadyService,
    @Inject(RESUME_STORE) private readonly store: ResumeStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly presence: PresenceAnnouncer,
    private readonly readyPresences: ReadyPresences,
    private readonly log: AppLogger,
    private readonly readyGate: ReadyGate,
    @Optional() @Inject(GATEWAY_CLUSTER) private readonly cluster?: GatewayCluster,
  ) {
    router.hooks = {
      largeGuilds: (ids) => this.readyPresences.large(ids),
      tokenRevoked: (userId, tokenHash) => this.revoke(userId, (s) => s.tokenHash === tokenHash),
      userSessionsRevoked: (userId, except) => this.revoke(userId, (s) => s.tokenHash !== except),
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
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  /** Every session held here, as a copy (ending sessions while iterating is safe). */
  all(): Session[] {
    return [...this.sessions.values()];
  }

  /** A session object for this connection, registered and routed (its READY or replay still to come). */
  create(
    id: string,
    owner: { userId: string; tokenHash: string; batch: boolean },
    conn: SessionConnection,
  ): Session {
    const session = new Session(
      id,
      owner.userId,
      owner.tokenHash,
      this.store,
      this.config.gateway.event_retention,
    );
    session.batch = owner.batch;
    // A Discord-protocol session (its id carries its intents, on any node) gets typing by its intent.
    session.typingEverywhere = intentsOfSessionId(id) !== null;
    session.conn = conn;
    this.sessions.set(session.id, session);
    return session;
  }

  /** The resume buffer's bounds (gateway.event_retention and gateway.resume_buffer). */
  get limits(): ResumeLimits {
    const g = this.config.gateway;
    return {
      capacity: g.event_retention,
      connectedMaxBytes: g.resume_buffer.connected_max_bytes,
      connectedMaxAgeMs: g.resume_buffer.connected_max_age,
    };
  }

  /** Starts a new session with READY; when it cannot, the connection is told why and the session ends. */
  async start(
    owner: SessionOwner,
    conn: SessionConnection,
    attach: (session: Session) => void,
  ): Promise<void> {
    const id = `${owner.sessionIdPrefix ?? ''}${randomBytes(16).toString('base64url')}`;
    const session = this.create(id, owner, conn);
    attach(session);
    const who = { userId: session.userId, tokenHash: session.tokenHash };
    this.store.open(session.id, who, this.limits);
    this.cluster?.claim(session.id, who);
    // READY's reads wait their turn (gateway.ready_concurrency): a crowd reconnecting at once is spread out.
    const turn = await this.readyGate.enter();
    try {
      if (session.state === 'closed' || !conn.isOpen) {
        this.destroy(session);
        return;
      }
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
      await this.begin(session, owner, conn, snapshot, presences);
    } finally {
      turn();
    }
  }

  private async begin(
    session: Session,
    owner: SessionOwner,
    conn: SessionConnection,
    snapshot: Awaited<ReturnType<ReadyService['snapshot']>>,
    presences: unknown[],
  ): Promise<void> {
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
    const shaped = owner.shapeReady
      ? owner.shapeReady(session, snapshot, presences)
      : { ready: serialise({ session_id: session.id, ...snapshot, presences }), after: [] };
    if (!session.start(shaped.ready, shaped.after)) {
      this.end(session, {
        code: GatewayCode.UNKNOWN_ERROR,
        reason: 'internal_error',
        resumable: false,
        reconnect: true,
      });
      return;
    }
    await this.presence.online(session);
  }

  /** The connection dropped: the session keeps recording and stays resumable until `session_ttl`. */
  detach(session: Session): void {
    if (session.state === 'closed' || session.state === 'detached') return;
    session.detach();
    const ttl = this.config.gateway.session_ttl;
    this.store.detach(session.id, ttl);
    this.cluster?.detached(session.id, session.lastSeq, ttl);
    session.expiry = setTimeout(() => this.destroy(session), ttl);
    session.expiry.unref();
  }

  /** A resume takes the session back: it no longer expires. */
  keep(session: Session): void {
    if (session.expiry) clearTimeout(session.expiry);
    session.expiry = null;
  }

  /** Closes the session's socket with a reason and ends the session for good. */
  end(session: Session, payload: ClosePayload, announce = true): void {
    session.conn?.close(payload);
    this.destroy(session, announce);
  }

  destroy(session: Session, announce = true): void {
    if (session.state === 'closed') return;
    this.keep(session);
    const guildIds = [...session.guilds.keys()];
    session.state = 'closed';
    session.conn = null;
    this.router.unregister(session);
    this.store.drop(session.id);
    this.cluster?.ended(session.id);
    this.sessions.delete(session.id);
    this.presence.offline(session, guildIds, announce);
    this.changed();
  }

  /**
   * Another node took the session over: forget it here (its presence entry lives on there), keeping its buffer
   * a little while for that node to page through.
   */
  handOver(session: Session): void {
    this.keep(session);
    session.state = 'closed';
    session.conn = null;
    this.router.unregister(session);
    this.sessions.delete(session.id);
    this.presence.handedOver(session);
    setTimeout(() => {
      if (!this.sessions.has(session.id)) this.store.drop(session.id);
    }, HANDED_OVER_KEEP_MS).unref();
    this.changed();
  }

  /** Resolves once this node holds no session (every one handed over, ended or expired). */
  empty(): Promise<void> {
    if (this.sessions.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptyWaiters.push(resolve));
  }

  private changed(): void {
    if (this.sessions.size > 0 || this.emptyWaiters.length === 0) return;
    const waiters = this.emptyWaiters.splice(0);
    for (const resolve of waiters) resolve();
  }

  /**
   * The bus connection dropped: events routed meanwhile never reached this node, so no session here can
   * promise a gapless stream. Each restarts (INVALID_SESSION and a fresh READY on reconnect).
   */
  eventsLost(): void {
    const sessions = this.all();
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

  counts(): GatewayCounts['sessions'] {
    const sessions = { initialising: 0, live: 0, resuming: 0, detached: 0 };
    for (const s of this.sessions.values()) if (s.state !== 'closed') sessions[s.state]++;
    return sessions;
  }

  /** Ends the user's sessions (live or waiting to be resumed) whose token was revoked. */
  private revoke(userId: string, revoked: (session: Session) => boolean): void {
    for (const session of [...this.router.sessionsOf(userId)]) {
      if (!revoked(session)) continue;
      this.end(session, {
        code: GatewayCode.AUTHENTICATION_FAILED,
        reason: 'token_revoked',
        resumable: false,
        reconnect: false,
      });
    }
  }
}
