import type { Redis } from 'ioredis';

/** An attached session's entry outlives a crashed node by this much at most; live ones are renewed. */
const ATTACHED_TTL_MS = 3_600_000;
const RENEW_EVERY_MS = 600_000;

export interface SessionLocation {
  node: string;
  userId: string;
  tokenHash: string;
  /** The last sequence number the node recorded when the session dropped (0 while it is connected). */
  lastSeq: number;
  detached: boolean;
}

/**
 * Where each gateway session lives, so a resume at another node knows whom to ask for the handover: per
 * session one small hash (node, owner, last sequence number at the drop, detached or not). It is written when
 * a session starts, drops, is taken back or moves, never per delivery; the events themselves stay in the
 * owning node's memory (ResumeStore) and travel in the handover.
 */
export class RedisSessionDirectory {
  /** Sessions this node holds (true: connected, renewed so a long-lived one never expires from here). */
  private readonly local = new Map<string, boolean>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** This gateway node's address for session handover. */
    readonly node: string,
  ) {
    this.timer = setInterval(() => void this.renew(), RENEW_EVERY_MS);
    this.timer.unref();
  }

  /** This node holds the session now (a new one, or one taken over), connected. */
  async claim(sessionId: string, owner: { userId: string; tokenHash: string }): Promise<void> {
    this.local.set(sessionId, true);
    const key = this.key(sessionId);
    await this.redis
      .multi()
      .hset(key, { user: owner.userId, tok: owner.tokenHash, node: this.node, last: 0, det: 0 })
      .pexpire(key, ATTACHED_TTL_MS)
      .exec();
  }

  /** The session dropped at `lastSeq`: resumable for `ttlMs`. */
  async detach(sessionId: string, lastSeq: number, ttlMs: number): Promise<void> {
    if (this.local.has(sessionId)) this.local.set(sessionId, false);
    const key = this.key(sessionId);
    await this.redis.multi().hset(key, { node: this.node, last: lastSeq, det: 1 }).pexpire(key, ttlMs).exec();
  }

  /** The session was taken back by a client of this node. */
  async attach(sessionId: string): Promise<void> {
    this.local.set(sessionId, true);
    const key = this.key(sessionId);
    await this.redis
      .multi()
      .hset(key, { node: this.node, last: 0, det: 0 })
      .pexpire(key, ATTACHED_TTL_MS)
      .exec();
  }

  /** Another node took the session over: it rewrote the entry; this node just stops renewing it. */
  forget(sessionId: string): void {
    this.local.delete(sessionId);
  }

  /** The session ended for good. Only the node that holds it removes the entry. */
  async drop(sessionId: string): Promise<void> {
    if (!this.local.delete(sessionId)) return;
    await this.redis.del(this.key(sessionId));
  }

  async locate(sessionId: string): Promise<SessionLocation | null> {
    const fields = await this.redis.hgetall(this.key(sessionId));
    if (!fields || fields.user === undefined || fields.node === undefined) return null;
    return {
      node: fields.node,
      userId: fields.user,
      tokenHash: fields.tok,
      lastSeq: Number(fields.last ?? 0),
      detached: fields.det === '1',
    };
  }

  close(): void {
    clearInterval(this.timer);
  }

  private async renew(): Promise<void> {
    if (this.local.size === 0) return;
    const pipeline = this.redis.pipeline();
    // Detached entries keep their own, shorter expiry.
    for (const [id, connected] of this.local) if (connected) pipeline.pexpire(this.key(id), ATTACHED_TTL_MS);
    await pipeline.exec().catch(() => undefined); // Redis down: the next round renews
  }

  private key(sessionId: string): string {
    return `${this.prefix}sd:{${sessionId}}`;
  }
}
