import { Inject, Injectable, Optional } from '@nestjs/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { AppLogger } from '@parley/observability';
import { RESUME_STORE, type ResumeStore } from '@parley/state';
import { GATEWAY_CLUSTER, type GatewayCluster, type SessionRelease } from './cluster';
import type { ResumingConnection, SessionConnection } from './session-connection';
import { GatewayMetrics } from './gateway.metrics';
import { InterestRouter } from './interest-router';
import { PresenceAnnouncer } from './presence-announcer';
import { GatewayCode, serialise } from './protocol';
import { SessionRegistry } from './session-registry';

export interface ResumeRequest {
  sessionId: string;
  seq: number;
}

/**
 * Resume and cross-node handover: a client reconnecting with `{session_id, seq}` gets what it missed, whether
 * the session is held here or (microservices) by another gateway node, which hands it over.
 */
@Injectable()
export class SessionResumption {
  constructor(
    private readonly registry: SessionRegistry,
    private readonly router: InterestRouter,
    @Inject(RESUME_STORE) private readonly store: ResumeStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly presence: PresenceAnnouncer,
    private readonly metrics: GatewayMetrics,
    private readonly log: AppLogger,
    @Optional() @Inject(GATEWAY_CLUSTER) private readonly cluster?: GatewayCluster,
  ) {}

  /** Answers other nodes' handover requests. */
  serve(): void {
    this.cluster?.serve((sessionId, tokenHash) => this.release(sessionId, tokenHash));
  }

  /** True when the session was resumed on this connection; false: the client starts over. */
  async resume(state: ResumingConnection, conn: SessionConnection, request: ResumeRequest): Promise<boolean> {
    const session = this.registry.get(request.sessionId);
    if (!session && this.cluster) return this.adopt(state, conn, request, this.cluster);
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
    this.registry.keep(session);
    session.beginResume(conn);
    this.store.attach(session.id);
    const result =
      request.seq < 1
        ? ({ ok: false, reason: 'bad_seq' } as const)
        : await this.store.replay(session.id, state.tokenHash, request.seq);
    if (session.conn !== conn) return true; // another connection took it over meanwhile; this one is closing
    if (!result.ok) {
      this.metrics.resumes.inc({ outcome: result.reason });
      this.registry.destroy(session);
      return false;
    }
    // A shared buffer (Redis) may have lost its last writes: replaying short of what was numbered is a gap.
    const bufferLast = result.entries.length > 0 ? result.entries[result.entries.length - 1].s : request.seq;
    if (bufferLast < session.lastSeq && !session.hasTailAfter(bufferLast)) {
      this.metrics.resumes.inc({ outcome: 'overflow' });
      this.registry.destroy(session);
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

  /**
   * Resumes a session another gateway node holds: subscribe to its scopes here first (what is routed from now
   * on is kept), then ask that node to give it up (it stops recording and reports its last number), then
   * replay the shared buffer and what was kept here that the other node had not recorded. If the other node
   * cannot be reached, nothing proves the buffer complete: INVALID_SESSION.
   */
  private async adopt(
    state: ResumingConnection,
    conn: SessionConnection,
    request: ResumeRequest,
    cluster: GatewayCluster,
  ): Promise<boolean> {
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
    const session = this.registry.create(request.sessionId, state, conn);
    state.session = session;
    this.router.register(session);
    try {
      await this.router.establish(session);
      await this.bus.ready?.(); // subscribed at the bus before the other node stops recording
      const released = await cluster.release(where.node, session.id, state.tokenHash);
      if (!released) {
        this.metrics.resumes.inc({ outcome: 'unknown' });
        this.registry.destroy(session);
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
        this.registry.destroy(session);
        return false;
      }
      if (
        !session.adopt(released.lastSeq, result.entries, (n) =>
          serialise({ session_id: session.id, replayed: n }),
        )
      ) {
        this.metrics.resumes.inc({ outcome: 'overflow' });
        this.registry.destroy(session);
        return false;
      }
      this.metrics.resumes.inc({ outcome: 'resumed' });
      await this.presence.online(session);
      return true;
    } catch (err) {
      this.log.warn({ err, session: session.id, node: where.node }, 'gateway session handover failed');
      this.metrics.resumes.inc({ outcome: 'handover_failed' });
      this.registry.destroy(session);
      return false;
    }
  }

  /** Another node resumes this session: stop recording it and say where numbering stopped. */
  private release(sessionId: string, tokenHash: string): SessionRelease | null {
    const session = this.registry.get(sessionId);
    if (!session || session.tokenHash !== tokenHash) return null;
    if (session.state === 'closed' || session.state === 'initialising') return null;
    session.conn?.close({
      code: GatewayCode.SESSION_REPLACED,
      reason: 'session_replaced',
      resumable: false,
      reconnect: false,
    });
    const lastSeq = session.lastSeq;
    // Not destroy(): the buffer and the presence entry live on, on the other node.
    this.registry.handOver(session);
    return { lastSeq };
  }
}
