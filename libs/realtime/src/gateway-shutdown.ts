import { Inject, Injectable, Optional } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { AppLogger } from '@parley/observability';
import type { Socket as EngineSocket } from 'engine.io';
import type { Server } from 'socket.io';
import { GATEWAY_CLUSTER, type GatewayCluster } from './cluster';
import { InterestRouter } from './interest-router';
import { type ClosePayload, GatewayCode } from './protocol';
import type { Session } from './session';
import { SessionRegistry } from './session-registry';
import { stateOf } from './socket-state';

const RESUME_ELSEWHERE: ClosePayload = {
  code: GatewayCode.SERVER_SHUTDOWN,
  reason: 'server_shutdown',
  resumable: true,
  reconnect: true,
};

/**
 * Draining the gateway on SIGTERM without a READY storm (microservices; the monolith has no other node to
 * resume on, so its sessions end at once, `resumable: false`): refuse new connections, then tell the sessions to
 * resume elsewhere in staggered batches, paced by how fast other nodes take them over (`moveAll`). Each
 * one stays here, detached and still routed, until another node takes it over by handover; the node keeps
 * answering handovers until it holds no session or `gateway.drain.timeout` ms have passed.
 */
@Injectable()
export class GatewayShutdown {
  /** Set once draining began: handshakes are refused from then on. */
  closing = false;

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly registry: SessionRegistry,
    private readonly router: InterestRouter,
    private readonly log: AppLogger,
    @Optional() @Inject(GATEWAY_CLUSTER) private readonly cluster?: GatewayCluster,
  ) {}

  async drain(io: Server): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const deadline = Date.now() + this.config.gateway.drain.timeout;
    const sessions = this.registry.all();
    if (!this.cluster) {
      // Nowhere else to resume: the buffers die with this process. No offline presence: a restart follows.
      for (const session of sessions)
        this.registry.end(session, { ...RESUME_ELSEWHERE, resumable: false }, false);
      for (const socket of io.of('/').sockets.values())
        stateOf(socket).conn?.close({ ...RESUME_ELSEWHERE, resumable: false });
      await this.cut(io, Date.now() + Math.min(2000, this.config.gateway.heartbeat_timeout));
      return;
    }
    this.log.info({ sessions: sessions.length }, 'gateway draining: sessions resume on other nodes');
    const lastTold = await this.moveAll(sessions, deadline);
    // Sockets without a session yet (mid-handshake or mid-resume) reconnect too.
    for (const socket of io.of('/').sockets.values()) stateOf(socket).conn?.close(RESUME_ELSEWHERE);
    await this.settle(lastTold, deadline);
    const left = this.registry.all();
    if (left.length > 0)
      this.log.warn({ sessions: left.length }, 'gateway drain over; ending the sessions not taken over');
    // Not resumed anywhere in time: they end here (their users go offline unless connected elsewhere).
    for (const session of left) this.registry.destroy(session);
    await this.cut(io, 0);
  }

  /**
   * Tells the sessions to resume elsewhere at the pace the other nodes take them over: each tick (`interval`)
   * up to `batch_size` more, while fewer than `window` are on their way (told, not yet taken over, for less
   * than `handover_wait`). Told all at once, thousands of reconnects and handovers land on the other nodes
   * together and every one of them waits behind all the others (measured: p50 4.3 s, p95 16.7 s for 5,000 at
   * once); paced, each is taken over shortly after its CLOSE. A client that does not come back stops counting
   * after `handover_wait`; a session without a connection (its client dropped earlier) has no one to tell and
   * does not count. Whatever is left `handover_wait` before the deadline is told at once, so the last ones told
   * still have that long to be taken over. Returns when the last one was told.
   */
  private async moveAll(sessions: Session[], deadline: number): Promise<number> {
    const { batch_size: batchSize, interval, window, handover_wait: wait } = this.config.gateway.drain;
    const moving = new Map<Session, number>();
    const rest = deadline - wait;
    let lastTold = Date.now();
    let next = 0;
    while (next < sessions.length) {
      const now = Date.now();
      for (const [session, told] of moving)
        if (session.state === 'closed' || now - told >= wait) moving.delete(session);
      const room = now >= rest ? sessions.length : Math.min(batchSize, window - moving.size);
      for (let n = 0; n < room && next < sessions.length; next++) {
        const session = sessions[next];
        if (session.state === 'closed') continue;
        if (session.state === 'initialising') {
          // It never got READY: nothing to resume; it starts over elsewhere.
          this.registry.end(session, { ...RESUME_ELSEWHERE, resumable: false }, false);
          continue;
        }
        const conn = session.conn;
        this.registry.detach(session);
        if (!conn) continue;
        conn.close(RESUME_ELSEWHERE);
        moving.set(session, now);
        lastTold = now;
        n++;
      }
      if (next < sessions.length) await sleep(interval);
    }
    return lastTold;
  }

  /**
   * Keeps answering handovers while they still come: until the node holds no session, or nothing was taken over
   * for `handover_wait` since the last session was told (the clients that were coming are here; the rest, and
   * sessions whose clients had dropped before, are not coming), or the deadline.
   */
  private async settle(lastTold: number, deadline: number): Promise<void> {
    const { interval, handover_wait: wait } = this.config.gateway.drain;
    let held = this.registry.all().length;
    let progressAt = Date.now();
    for (;;) {
      const now = Date.now();
      const count = this.registry.all().length;
      if (count === 0 || now >= deadline) return;
      if (count < held) {
        held = count;
        progressAt = now;
      }
      if (now - lastTold >= wait && now - progressAt >= wait) return;
      await sleep(Math.min(interval, deadline - now));
    }
  }

  /** Gives clients until `deadline` to read CLOSE, then cuts whatever is left so the HTTP server can close. */
  private async cut(io: Server, deadline: number): Promise<void> {
    this.router.clear();
    while (io.engine.clientsCount > 0 && Date.now() < deadline) await sleep(20);
    for (const client of Object.values(
      (io.engine as unknown as { clients: Record<string, EngineSocket> }).clients,
    )) {
      client.close(true);
      (client.transport as unknown as { socket?: { terminate?: () => void } }).socket?.terminate?.();
    }
    io.engine.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
