/** How long a TYPING_START holds unless renewed; clients use the same figure. */
export const TYPING_TTL_MS = 10_000;
/** A renewal sooner than this after the last forwarded one adds nothing for clients. */
export const TYPING_REFRESH_MS = 5_000;

/**
 * Who is typing where. `start` answers whether the event is news worth forwarding (the user was not already
 * shown typing in that channel recently); a message from the user ends their typing. Node-local by design:
 * every gateway node sees the same event stream and decides the same way.
 */
export interface TypingStore {
  start(channelId: string, userId: string, now?: number): boolean;
  stop(channelId: string, userId: string): void;
  /** Users typing in the channel right now. */
  active(channelId: string, now?: number): string[];
}

export const TYPING_STORE = Symbol('TYPING_STORE');

const SWEEP_EVERY = 10_000;

export class MemoryTypingStore implements TypingStore {
  // channel id -> user id -> time of the last forwarded TYPING_START
  private readonly channels = new Map<string, Map<string, number>>();
  private lastSweep = 0;

  constructor(
    private readonly ttlMs = TYPING_TTL_MS,
    private readonly refreshMs = TYPING_REFRESH_MS,
  ) {}

  start(channelId: string, userId: string, now = Date.now()): boolean {
    this.sweep(now);
    let users = this.channels.get(channelId);
    if (!users) this.channels.set(channelId, (users = new Map<string, number>()));
    const last = users.get(userId);
    if (last !== undefined && now - last < this.refreshMs) return false;
    users.set(userId, now);
    return true;
  }

  stop(channelId: string, userId: string): void {
    const users = this.channels.get(channelId);
    if (!users) return;
    users.delete(userId);
    if (users.size === 0) this.channels.delete(channelId);
  }

  active(channelId: string, now = Date.now()): string[] {
    const users = this.channels.get(channelId);
    if (!users) return [];
    return [...users].filter(([, at]) => now - at < this.ttlMs).map(([id]) => id);
  }

  get size(): number {
    return this.channels.size;
  }

  // Bounded memory: expired entries go periodically rather than living as long as the channel.
  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY) return;
    this.lastSweep = now;
    for (const [channelId, users] of this.channels) {
      for (const [userId, at] of users) if (now - at >= this.ttlMs) users.delete(userId);
      if (users.size === 0) this.channels.delete(channelId);
    }
  }
}
