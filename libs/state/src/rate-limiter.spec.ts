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
