import { Inject, Injectable, Optional } from '@nestjs/common';
import { EVENT_BUS, type EventBus } from '@parley/bus';
import { AppLogger } from '@parley/observability';
import { RESUME_STORE, type ResumeStore } from '@parley/state';
import type { ResumeEntry } from '@parley/state';
import { GATEWAY_CLUSTER, type GatewayCluster, type SessionHandover } from './cluster';
import type { ResumingConnection, SessionConnection } from './session-connection';
import { GatewayMetrics } from './gateway.metrics';
import { InterestRouter } from './interest-router';
import type { MemberListSubscriptions } from './member-list/member-lists';
import { PresenceAnnouncer } from './presence-announcer';
import { GatewayCode, serialise } from './protocol';
import { SessionRegistry } from './session-registry';

export interface ResumeRequest {
  sessionId: string;
  seq: number;
}

/**
 * Bytes of entries per handover reply: NATS refuses messages over its max_payload (1 MB by default), so a
 * longer backlog travels in pages.
 */
const HANDOVER_PAGE_BYTES = 256 * 1024;
/**
 * Ids of already delivered events sent with the first page: how far the new node's bus may run behind the old
 * node's, in events of this one session, without a late copy being delivered twice. The new node keeps them
 * for a minute (Session.adopt), so this bounds that memory too.
 */
const HANDOVER_DELIVERED_IDS = 256;

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
    this.cluster?.serve({
      release: (sessionId, tokenHash, after) => this.release(sessionId, tokenHash, after),
      page: (sessionId, tokenHash, after) => this.page(sessionId, tokenHash, after),
    });
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
    this.cluster?.attached(session.id);
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
   * on is kept), then ask that node to give it up: it stops routing it and sends what it recorded after the
   * client's seq (in pages if long), which this node keeps in its own buffer, replays, and follows with what it
   * routed meanwhile that the other node had not recorded. If the other node cannot be reached, nothing proves
   * the stream complete: INVALID_SESSION.
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
      await this.bus.ready?.(); // subscribed at the bus before the other node stops routing
      const handover = await this.fetchHandover(
        cluster,
        where.node,
        session.id,
        state.tokenHash,
        request.seq,
      );
      if (!handover.ok) {
        this.metrics.resumes.inc({ outcome: handover.reason });
        this.registry.destroy(session);
        return false;
      }
      if (session.state === 'closed' || session.conn !== conn) return true;
      const owner = { userId: state.userId, tokenHash: state.tokenHash };
      this.store.open(session.id, owner, this.registry.limits, request.seq);
      cluster.claim(session.id, owner);
      if (
        !session.adopt(
          handover.lastSeq,
          handover.entries,
          (n) => serialise({ session_id: session.id, replayed: n }),
          handover.delivered,
        )
      ) {
        this.metrics.resumes.inc({ outcome: 'overflow' });
        this.registry.destroy(session);
        return false;
      }
      this.metrics.resumes.inc({ outcome: 'resumed' });
      this.router.memberLists?.restore(session, handover.memberLists);
      await this.presence.online(session);
      return true;
    } catch (err) {
      this.log.warn({ err, session: session.id, node: where.node }, 'gateway session handover failed');
      this.metrics.resumes.inc({ outcome: 'handover_failed' });
      this.registry.destroy(session);
      return false;
    }
  }

  /** The whole handover, page by page; checked to cover every number from the client's seq to the last. */
  private async fetchHandover(
    cluster: GatewayCluster,
    node: string,
    sessionId: string,
    tokenHash: string,
    seq: number,
  ): Promise<
    | {
        ok: true;
        lastSeq: number;
        entries: ResumeEntry[];
        delivered: readonly string[];
        memberLists?: MemberListSubscriptions;
      }
    | { ok: false; reason: 'unknown' | 'overflow' }
  > {
    let reply: SessionHandover | null = await cluster.release(node, sessionId, tokenHash, seq);
    const delivered = reply && !('gap' in reply) ? (reply.delivered ?? []) : [];
    const memberLists = reply && !('gap' in reply) ? reply.memberLists : undefined;
    const entries: ResumeEntry[] = [];
    let lastSeq = seq;
    for (;;) {
      if (!reply) return { ok: false, reason: 'unknown' };
      if ('gap' in reply) return { ok: false, reason: 'overflow' };
      for (const e of reply.entries) {
        if (e.s !== seq + entries.length + 1) return { ok: false, reason: 'overflow' };
        entries.push(e);
      }
      lastSeq = reply.lastSeq;
      if (!reply.more) break;
      reply = await cluster.page(node, sessionId, tokenHash, seq + entries.length);
    }
    if (seq + entries.length !== lastSeq) return { ok: false, reason: 'overflow' };
    return { ok: true, lastSeq, entries, delivered, memberLists };
  }

  /**
   * Another node resumes this session: stop routing it here, close its connection, and send what it recorded
   * after `after` (the first page). Its buffer stays here a little while for the rest of the pages.
   */
  private release(sessionId: string, tokenHash: string, after: number): SessionHandover | null {
    const session = this.registry.get(sessionId);
    if (!session || session.tokenHash !== tokenHash) return null;
    if (session.state === 'closed' || session.state === 'initialising') return null;
    session.conn?.close({
      code: GatewayCode.SESSION_REPLACED,
      reason: 'session_replaced',
      resumable: false,
      reconnect: false,
    });
    // Read before handOver, which ends the session's lists here.
    const memberLists = this.router.memberLists?.subscriptions(session);
    // Not destroy(): the presence entry lives on, on the other node, and the buffer serves the pages.
    this.registry.handOver(session);
    const handover = this.page(sessionId, tokenHash, after, session.lastSeq);
    if (handover && 'gap' in handover) this.store.drop(sessionId);
    else if (handover) {
      handover.delivered = this.store.deliveredIds(sessionId, tokenHash, after, HANDOVER_DELIVERED_IDS);
      if (memberLists) handover.memberLists = memberLists;
    }
    this.metrics.handovers.inc();
    return handover;
  }

  /** Entries after `after`, up to HANDOVER_PAGE_BYTES, from a buffer this node holds or just gave up. */
  private page(
    sessionId: string,
    tokenHash: string,
    after: number,
    lastSeq?: number,
  ): SessionHandover | null {
    const result = this.store.peek(sessionId, tokenHash, after);
    if (!result) return null;
    if (!result.ok) return { gap: true };
    const entries: ResumeEntry[] = [];
    let bytes = 0;
    for (const e of result.entries) {
      if (entries.length > 0 && bytes + e.d.length > HANDOVER_PAGE_BYTES) break;
      bytes += e.d.length + 64;
      entries.push(e);
    }
    const last = lastSeq ?? result.lastSeq;
    return { lastSeq: last, entries, more: entries.length < result.entries.length };
  }
}
