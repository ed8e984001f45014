export interface RateRule {
  limit: number;
  window_ms: number;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Milliseconds until the window resets. */
  resetAfterMs: number;
}

/** Fixed-window counters keyed by bucket; memory in the monolith, Redis once processes split. */
export interface RateLimiter {
  /** Synchronous in memory; a shared store (Redis) answers asynchronously. */
  consume(key: string, rule: RateRule, now?: number): RateDecision | Promise<RateDecision>;
}

export const RATE_LIMITER = Symbol('RATE_LIMITER');

interface Window {
  start: number;
  count: number;
  windowMs: number;
}

const SWEEP_EVERY = 10_000;

export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, Window>();
  private lastSweep = 0;

  consume(key: string, rule: RateRule, now = Date.now()): RateDecision {
    this.sweep(now);
    let w = this.windows.get(key);
    if (!w || now - w.start >= rule.window_ms) {
      w = { start: now, count: 0, windowMs: rule.window_ms };
      this.windows.set(key, w);
    }
    const resetAfterMs = w.start + rule.window_ms - now;
    if (w.count >= rule.limit) return { allowed: false, limit: rule.limit, remaining: 0, resetAfterMs };
    w.count++;
    return { allowed: true, limit: rule.limit, remaining: rule.limit - w.count, resetAfterMs };
  }

  get size(): number {
    return this.windows.size;
  }

  // Bounded memory: expired windows are dropped periodically, not kept per key forever.
  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY) return;
    this.lastSweep = now;
    for (const [key, w] of this.windows) if (now - w.start >= w.windowMs) this.windows.delete(key);
  }
}
