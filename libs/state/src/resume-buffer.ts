/** One dispatch as sent to a session: `d` is the payload already serialised to JSON, shared by every recipient. */
export interface ResumeEntry {
  s: number;
  t: string;
  d: string;
  /** Id of the event it came from, when the bus gives one (NATS): a node taking the session over dedupes by it. */
  e?: string;
}

export interface ResumeOwner {
  userId: string;
  tokenHash: string;
}

export type ReplayFailure = 'unknown' | 'expired' | 'token_mismatch' | 'bad_seq' | 'overflow';

export type ReplayResult =
  { ok: true; owner: ResumeOwner; entries: ResumeEntry[] } | { ok: false; reason: ReplayFailure };

/**
 * The last dispatches of each gateway session, kept while it is connected (what was written may not have
 * arrived) and for a while after it drops, so a reconnect can replay what it missed. Bounded per session.
 * Writes are fire-and-forget so the dispatch path never waits (a Redis implementation pipelines them in order);
 * reads are async. Memory in the monolith; Redis once a client may resume on another gateway node.
 */
export interface ResumeStore {
  /** Starts a session's buffer, keeping at most `capacity` entries (oldest dropped first). */
  open(sessionId: string, owner: ResumeOwner, capacity: number): void;
  append(sessionId: string, entry: ResumeEntry): void;
  /** The session dropped: forget it `ttlMs` from now unless it is attached again. */
  detach(sessionId: string, ttlMs: number, now?: number): void;
  attach(sessionId: string): void;
  /** Entries with `s > afterSeq`, in order, if the session exists, belongs to that token and has no gap since. */
  replay(sessionId: string, tokenHash: string, afterSeq: number, now?: number): Promise<ReplayResult>;
  drop(sessionId: string): void;
}

export const RESUME_STORE = Symbol('RESUME_STORE');

/** A ring of entries that grows up to its capacity, then overwrites the oldest. */
class Ring {
  private buf: ResumeEntry[] = [];
  private start = 0;
  lastSeq = 0;

  constructor(private readonly capacity: number) {}

  push(entry: ResumeEntry): void {
    this.lastSeq = entry.s;
    if (this.buf.length < this.capacity) {
      this.buf.push(entry);
      return;
    }
    this.buf[this.start] = entry;
    this.start = (this.start + 1) % this.capacity;
  }

  get length(): number {
    return this.buf.length;
  }

  /** Sequence number of the oldest entry kept (lastSeq + 1 when empty). */
  get firstSeq(): number {
    return this.buf.length === 0 ? this.lastSeq + 1 : this.buf[this.start].s;
  }

  after(seq: number): ResumeEntry[] {
    const out: ResumeEntry[] = [];
    const n = this.buf.length;
    for (let i = 0; i < n; i++) {
      const entry = this.buf[(this.start + i) % n];
      if (entry.s > seq) out.push(entry);
    }
    return out;
  }
}

interface Record {
  owner: ResumeOwner;
  ring: Ring;
  expiresAt: number | null;
}

const SWEEP_EVERY = 10_000;

export class MemoryResumeStore implements ResumeStore {
  private readonly sessions = new Map<string, Record>();
  private lastSweep = 0;

  open(sessionId: string, owner: ResumeOwner, capacity: number): void {
    this.sweep(Date.now());
    this.sessions.set(sessionId, { owner, ring: new Ring(Math.max(1, capacity)), expiresAt: null });
  }

  append(sessionId: string, entry: ResumeEntry): void {
    this.sessions.get(sessionId)?.ring.push(entry);
  }

  detach(sessionId: string, ttlMs: number, now = Date.now()): void {
    const record = this.sessions.get(sessionId);
    if (record) record.expiresAt = now + ttlMs;
  }

  attach(sessionId: string): void {
    const record = this.sessions.get(sessionId);
    if (record) record.expiresAt = null;
  }

  replay(sessionId: string, tokenHash: string, afterSeq: number, now = Date.now()): Promise<ReplayResult> {
    const record = this.sessions.get(sessionId);
    if (!record) return Promise.resolve({ ok: false, reason: 'unknown' });
    if (record.expiresAt !== null && now >= record.expiresAt) {
      this.sessions.delete(sessionId);
      return Promise.resolve({ ok: false, reason: 'expired' });
    }
    if (record.owner.tokenHash !== tokenHash) return Promise.resolve({ ok: false, reason: 'token_mismatch' });
    const { ring } = record;
    if (!Number.isInteger(afterSeq) || afterSeq < 0 || afterSeq > ring.lastSeq)
      return Promise.resolve({ ok: false, reason: 'bad_seq' });
    if (afterSeq + 1 < ring.firstSeq) return Promise.resolve({ ok: false, reason: 'overflow' });
    return Promise.resolve({ ok: true, owner: record.owner, entries: ring.after(afterSeq) });
  }

  drop(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Entries held for one session (for tests and metrics). */
  held(sessionId: string): number {
    return this.sessions.get(sessionId)?.ring.length ?? 0;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY) return;
    this.lastSweep = now;
    for (const [id, record] of this.sessions)
      if (record.expiresAt !== null && now >= record.expiresAt) this.sessions.delete(id);
  }
}
