import { MemoryRateLimiter } from './rate-limiter';

describe('MemoryRateLimiter', () => {
  it('allows up to the limit in a window, then refuses until it resets', () => {
    const limiter = new MemoryRateLimiter();
    const rule = { limit: 2, window_ms: 1000 };
    expect(limiter.consume('k', rule, 0)).toMatchObject({ allowed: true, remaining: 1 });
    expect(limiter.consume('k', rule, 10)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.consume('k', rule, 20)).toMatchObject({ allowed: false, remaining: 0, resetAfterMs: 980 });
    expect(limiter.consume('k', rule, 1000)).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('keeps buckets apart and forgets expired windows', () => {
    const limiter = new MemoryRateLimiter();
    const rule = { limit: 1, window_ms: 100 };
    expect(limiter.consume('a', rule, 0).allowed).toBe(true);
    expect(limiter.consume('b', rule, 0).allowed).toBe(true);
    expect(limiter.consume('a', rule, 50).allowed).toBe(false);
    limiter.consume('c', rule, 20_000);
    expect(limiter.size).toBe(1);
  });
});

describe('MemoryRateLimiter lockouts', () => {
  const policy = { max_failures: 3, base_ms: 1000, max_ms: 4000, reset_ms: 10_000 };

  it('locks after max_failures, doubling each further failure up to max_ms', () => {
    const limiter = new MemoryRateLimiter();
    expect(limiter.recordFailure('a', policy, 0)).toBe(0);
    expect(limiter.recordFailure('a', policy, 1)).toBe(0);
    expect(limiter.recordFailure('a', policy, 2)).toBe(1000);
    expect(limiter.lockedFor('a', 502)).toBe(500);
    expect(limiter.recordFailure('a', policy, 1002)).toBe(2000);
    expect(limiter.recordFailure('a', policy, 3002)).toBe(4000);
    expect(limiter.recordFailure('a', policy, 7002)).toBe(4000);
    expect(limiter.lockedFor('b', 7002)).toBe(0);
  });

  it('forgets failures after the reset window', () => {
    const limiter = new MemoryRateLimiter();
    limiter.recordFailure('a', policy, 0);
    limiter.recordFailure('a', policy, 1);
    expect(limiter.recordFailure('a', policy, 20_000)).toBe(0);
  });
});
