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

/** Lockout with backoff: after `max_failures` in a row, each further failure locks for twice as long. */
export interface LockoutPolicy {
  max_failures: number;
  base_ms: number;
  max_ms: number;
  /** Failures older than this (since the last one) are forgotten. */
  reset_ms: number;
}

/** The lock a failure leaves: 0 while under the threshold. */
export function lockoutMs(failures: number, policy: LockoutPolicy): number {
  if (failures < policy.max_failures) return 0;
  const doublings = Math.min(30, failures - policy.max_failures);
  return Math.min(policy.max_ms, policy.base_ms * 2 ** doublings);
}

/** Fixed-window counters keyed by bucket; memory in the monolith, Redis once processes split. */
export interface RateLimiter {
  /** Synchronous in memory; a shared store (Redis) answers asynchronously. */
  consume(key: string, rule: RateRule, now?: number): RateDecision | Promise<RateDecision>;
  /** Milliseconds the key stays locked (0: not locked). */
  lockedFor(key: string, now?: number): number | Promise<number>;
  /** Counts one failure; answers the lock it leaves (0: none yet). */
  recordFailure(key: string, policy: LockoutPolicy, now?: number): number | Promise<number>;
  /** Forgets the failures (a success); a lock in force stays until it ends. */
  clearFailures(key: string): void | Promise<void>;
}

export const RATE_LIMITER = Symbol('RATE_LIMITER');

interface Window {
  start: number;
  count: number;
  windowMs: number;
}

const SWEEP_EVERY = 10_000;

interface Failures {
  count: number;
  last: number;
  resetMs: number;
  lockedUntil: number;
}

export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, Window>();
  private readonly failures = new Map<string, Failures>();
  private lastSweep = 0;

  lockedFor(key: string, now = Date.now()): number {
    const f = this.failures.get(key);
    return f ? Math.max(0, f.lockedUntil - now) : 0;
  }

  recordFailure(key: string, policy: LockoutPolicy, now = Date.now()): number {
    this.sweep(now);
    let f = this.failures.get(key);
    if (!f || now - f.last >= f.resetMs) {
      // As in Redis: the count outlives the longest lock, so the failure after a lock still doubles it.
      f = { count: 0, last: now, resetMs: policy.reset_ms + policy.max_ms, lockedUntil: 0 };
      this.failures.set(key, f);
    }
    f.count++;
    f.last = now;
    const lock = lockoutMs(f.count, policy);
    if (lock > 0) f.lockedUntil = now + lock;
    return lock;
  }

  clearFailures(key: string): void {
    const f = this.failures.get(key);
    if (f && f.lockedUntil <= Date.now()) this.failures.delete(key);
    else if (f) f.count = 0;
  }

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
    return this.windows.size + this.failures.size;
  }

  // Bounded memory: expired windows are dropped periodically, not kept per key forever.
  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY) return;
    this.lastSweep = now;
    for (const [key, w] of this.windows) if (now - w.start >= w.windowMs) this.windows.delete(key);
    for (const [key, f] of this.failures) if (now - f.last >= f.resetMs) this.failures.delete(key);
  }
}
