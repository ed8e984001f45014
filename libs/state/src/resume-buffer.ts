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
 * How much of a session's stream is kept. While its client is connected, what it was sent has almost surely
 * arrived: only the last `connectedMaxBytes` bytes and `connectedMaxAgeMs` milliseconds are kept (what may
 * still be in flight when a connection dies unnoticed). After a drop everything from then on is kept, up to
 * `capacity` entries.
 */
export interface ResumeLimits {
  capacity: number;
  connectedMaxBytes: number;
  connectedMaxAgeMs: number;
}

/**
 * The last dispatches of each gateway session, in the memory of the node that holds the session, so a
 * reconnect can replay what it missed. Bounded per session (ResumeLimits). Writes are synchronous and cost one
 * array push; a session resumed on another node gets its entries in the handover (see SessionResumption).
 */
export interface ResumeStore {
  /** Starts a session's buffer; numbering continues after `after` (a session taken over from another node). */
  open(sessionId: string, owner: ResumeOwner, limits: ResumeLimits, after?: number): void;
  append(sessionId: string, entry: ResumeEntry): void;
  /** The session dropped: keep everything from now on, and forget it `ttlMs` from now unless attached again. */
  detach(sessionId: string, ttlMs: number, now?: number): void;
  attach(sessionId: string): void;
  /** Entries with `s > afterSeq`, in order, if the session exists, belongs to that token and has no gap since. */
  replay(sessionId: string, tokenHash: string, afterSeq: number, now?: number): Promise<ReplayResult>;
  /**
   * The same read, synchronous, for a handover: null when the session is unknown here or not that token's,
   * `ok: false` when it no longer holds everything after `afterSeq`.
   */
  peek(
    sessionId: string,
    tokenHash: string,
    afterSeq: number,
  ): { ok: true; lastSeq: number; entries: ResumeEntry[] } | { ok: false } | null;
  /**
   * Ids of the events (`e`) of the entries numbered `throughSeq` or lower still held, the newest `max` of them:
   * what the client already received. A node taking the session over skips these when they reach it late.
   */
  deliveredIds(sessionId: string, tokenHash: string, throughSeq: number, max: number): string[];
  drop(sessionId: string): void;
}

export const RESUME_STORE = Symbol('RESUME_STORE');

/**
 * A session's entries, oldest first, with their sizes and arrival times: a queue trimmed from the front by
 * count always, and by bytes and age while `connected`.
 */
class Ring {
  private buf: ResumeEntry[] = [];
  private times: number[] = [];
  private head = 0;
  private bytes = 0;
  lastSeq: number;
  connected = true;

  constructor(
    private readonly limits: ResumeLimits,
    after: number,
  ) {
    this.lastSeq = after;
  }

  push(entry: ResumeEntry, now: number): void {
    this.lastSeq = entry.s;
    this.buf.push(entry);
    this.times.push(now);
    this.bytes += entry.d.length;
    this.trim(now);
  }

  /** Drops from the front what the limits no longer cover (never the newest entry). */
  trim(now: number): void {
    const { capacity, connectedMaxBytes, connectedMaxAgeMs } = this.limits;
    while (this.length > 1) {
      const over =
        this.length > capacity ||
        (this.connected &&
          (this.bytes > connectedMaxBytes || now - this.times[this.head] > connectedMaxAgeMs));
      if (!over) break;
      this.bytes -= this.buf[this.head].d.length;
      this.head++;
    }
    // Compact once the dropped front outweighs what is kept: amortised O(1) per entry.
    if (this.head > 64 && this.head * 2 > this.buf.length) {
      this.buf = this.buf.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }

  get length(): number {
    return this.buf.length - this.head;
  }

  /** Sequence number of the oldest entry kept (lastSeq + 1 when empty). */
  get firstSeq(): number {
    return this.length === 0 ? this.lastSeq + 1 : this.buf[this.head].s;
  }

  /** Event ids of the entries numbered `seq` or lower, the newest `max` of them, oldest first. */
  idsThrough(seq: number, max: number): string[] {
    const end = this.head + Math.max(0, Math.min(this.length, seq + 1 - this.firstSeq));
    const ids: string[] = [];
    for (let i = end - 1; i >= this.head && ids.length < max; i--) {
      const e = this.buf[i].e;
      if (e !== undefined) ids.push(e);
    }
    return ids.reverse();
  }

  after(seq: number): ResumeEntry[] {
    // Entries are numbered without gaps: the first one wanted is at a known offset.
    const from = this.head + Math.max(0, seq + 1 - this.firstSeq);
    return this.buf.slice(from);
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

  open(sessionId: string, owner: ResumeOwner, limits: ResumeLimits, after = 0): void {
    this.sweep(Date.now());
    const bounded = { ...limits, capacity: Math.max(1, limits.capacity) };
    this.sessions.set(sessionId, { owner, ring: new Ring(bounded, after), expiresAt: null });
  }

  append(sessionId: string, entry: ResumeEntry, now = Date.now()): void {
    this.sessions.get(sessionId)?.ring.push(entry, now);
  }

  detach(sessionId: string, ttlMs: number, now = Date.now()): void {
    const record = this.sessions.get(sessionId);
    if (!record) return;
    record.expiresAt = now + ttlMs;
    record.ring.connected = false;
  }

  attach(sessionId: string): void {
    const record = this.sessions.get(sessionId);
    if (!record) return;
    record.expiresAt = null;
    record.ring.connected = true;
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

  peek(
    sessionId: string,
    tokenHash: string,
    afterSeq: number,
  ): { ok: true; lastSeq: number; entries: ResumeEntry[] } | { ok: false } | null {
    const record = this.sessions.get(sessionId);
    if (!record || record.owner.tokenHash !== tokenHash) return null;
    const { ring } = record;
    if (afterSeq > ring.lastSeq || afterSeq + 1 < ring.firstSeq) return { ok: false };
    return { ok: true, lastSeq: ring.lastSeq, entries: ring.after(afterSeq) };
  }

  deliveredIds(sessionId: string, tokenHash: string, throughSeq: number, max: number): string[] {
    const record = this.sessions.get(sessionId);
    if (!record || record.owner.tokenHash !== tokenHash) return [];
    return record.ring.idsThrough(throughSeq, max);
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
