import type { ResumeEntry, ResumeStore } from '@parley/state';
import type { SessionConnection } from './session-connection';

/** How long after a handover this node still drops events the other node had sent (its bus may run behind). */
const LATE_COPY_WINDOW_MS = 60_000;

export type SessionState = 'initialising' | 'live' | 'resuming' | 'detached' | 'closed';

/**
 * A gateway session: what its user may see (the scopes it is subscribed to) and its numbered dispatch stream.
 * It outlives its socket: after a drop it keeps receiving into the resume buffer until it is resumed or expires.
 */
export class Session {
  state: SessionState = 'initialising';
  conn: SessionConnection | null = null;
  /** Guild id -> ids of the channels in it this session may view. */
  readonly guilds = new Map<string, Set<string>>();
  readonly dms = new Set<string>();
  /** Scope keys this session is indexed under. */
  readonly keys = new Set<string>();
  /** Set when the session dropped; fires its expiry. */
  expiry: NodeJS.Timeout | null = null;
  /** Batched clients get BATCH frames (see Connection). */
  batch = false;
  /**
   * TYPING_START in a large guild (`gateway.presence_large_threshold`) reaches a session only if it asked for it
   * in that guild (GUILD_SUBSCRIPTIONS `typing: true`: `typingGuilds`), as Discord's lazy guilds do, or if
   * `typingEverywhere` (Discord-protocol sessions: their GUILD_MESSAGE_TYPING intent decides). Smaller guilds:
   * every session that can see the channel.
   */
  typingEverywhere = false;
  typingGuilds: Set<string> | null = null;
  private seq = 0;
  // Dispatches routed before READY went out: delivered right after it.
  private early: Array<{ t: string; d: string; e?: string }> = [];
  private earlyOverflow = false;
  // Dispatches routed while a resume is reading the buffer: delivered after the replay.
  private tail: ResumeEntry[] = [];
  // After a handover: ids of events the other node had already sent, dropped if this node's bus brings them late.
  private skip: Set<string> | null = null;
  private skipUntil = 0;

  constructor(
    readonly id: string,
    readonly userId: string,
    readonly tokenHash: string,
    private readonly store: ResumeStore,
    private readonly retention: number,
  ) {}

  get lastSeq(): number {
    return this.seq;
  }

  /** Numbers, records and sends (or keeps) one dispatch. `d` is already serialised; `e` the event's id, if any. */
  dispatch(t: string, d: string, e?: string): void {
    switch (this.state) {
      case 'closed':
        return;
      case 'initialising':
        // Bounded like the resume buffer; a session that cannot start within that many events starts over.
        if (this.early.length < this.retention) this.early.push(e === undefined ? { t, d } : { t, d, e });
        else this.earlyOverflow = true;
        return;
      case 'live':
      case 'resuming':
      case 'detached':
        break;
    }
    if (this.skip !== null && e !== undefined && this.lateCopy(e)) return;
    const entry: ResumeEntry = e === undefined ? { s: ++this.seq, t, d } : { s: ++this.seq, t, d, e };
    this.store.append(this.id, entry);
    if (this.state === 'live') this.conn?.send(entry);
    else if (this.state === 'resuming') this.tail.push(entry);
  }

  /**
   * READY is dispatch 1; whatever was routed meanwhile follows it. Its payload is not kept for replay.
   * False when more was routed during the start than the session could hold: it must start over.
   */
  start(readyData: string, after: ReadonlyArray<{ t: string; d: string }> = []): boolean {
    if (this.earlyOverflow) return false;
    this.state = 'live';
    const ready: ResumeEntry = { s: ++this.seq, t: 'READY', d: readyData };
    this.store.append(this.id, { s: ready.s, t: 'READY', d: 'null' });
    this.conn?.send(ready);
    // What the transport sends right after READY (Discord: GUILD_CREATE each), numbered and kept like any dispatch.
    for (const x of after) this.dispatch(x.t, x.d);
    const early = this.early;
    this.early = [];
    for (const e of early) this.dispatch(e.t, e.d, e.e);
    return true;
  }

  /**
   * Takes over a session another gateway node gave up (microservices): numbering continues from that node's
   * `lastSeq`; `entries` (sent in the handover, after the client's seq) are kept in this node's buffer and
   * replayed, then what this node routed to the session meanwhile, minus the events the other node had already
   * recorded (in `entries`, or `delivered`: ids of what the client received before its seq, which this node's bus
   * may bring late), then RESUMED. False when more was routed meanwhile than the session could hold.
   */
  adopt(
    lastSeq: number,
    entries: readonly ResumeEntry[],
    resumedData: (replayed: number) => string,
    delivered: readonly string[] = [],
  ): boolean {
    if (this.earlyOverflow) return false;
    const recorded = new Set<string>(delivered);
    const missed: ResumeEntry[] = [];
    for (const entry of entries) {
      this.store.append(this.id, entry);
      if (entry.e !== undefined) recorded.add(entry.e);
      if (entry.t !== 'READY' && entry.t !== 'RESUMED') missed.push(entry);
    }
    this.seq = lastSeq;
    for (const x of this.early) {
      if (x.e !== undefined && recorded.delete(x.e)) continue;
      const entry: ResumeEntry =
        x.e === undefined ? { s: ++this.seq, t: x.t, d: x.d } : { s: ++this.seq, ...x };
      this.store.append(this.id, entry);
      missed.push(entry);
    }
    this.early = [];
    this.conn?.sendBacklog(missed);
    this.state = 'live';
    this.dispatch('RESUMED', resumedData(missed.length));
    if (recorded.size > 0) {
      this.skip = recorded;
      this.skipUntil = Date.now() + LATE_COPY_WINDOW_MS;
    }
    return true;
  }

  /** Whether event `e` was already sent by the node this session was taken over from (each id skipped once). */
  private lateCopy(e: string): boolean {
    if (this.skip === null || Date.now() > this.skipUntil) {
      this.skip = null;
      return false;
    }
    if (!this.skip.delete(e)) return false;
    if (this.skip.size === 0) this.skip = null;
    return true;
  }

  beginResume(conn: SessionConnection): void {
    this.conn = conn;
    this.state = 'resuming';
    this.tail = [];
  }

  /** Sends the replayed entries, then what arrived while they were read, then RESUMED; returns how many replayed. */
  finishResume(entries: readonly ResumeEntry[], resumedData: (replayed: number) => string): number {
    let last = 0;
    const missed: ResumeEntry[] = [];
    for (const e of entries) {
      last = e.s;
      if (e.t !== 'READY' && e.t !== 'RESUMED') missed.push(e);
    }
    for (const e of this.tail) if (e.s > last) missed.push(e);
    this.tail = [];
    this.conn?.sendBacklog(missed);
    this.state = 'live';
    this.dispatch('RESUMED', resumedData(missed.length));
    return missed.length;
  }

  /** Whether what was routed during a resume covers every sequence number after `seq`. */
  hasTailAfter(seq: number): boolean {
    return this.tail.length > 0 && this.tail[0].s <= seq + 1;
  }

  detach(): void {
    this.conn = null;
    if (this.state !== 'closed') this.state = 'detached';
    this.tail = [];
  }
}
