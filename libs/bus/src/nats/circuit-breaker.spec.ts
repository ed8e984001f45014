import { CircuitBreaker } from './circuit-breaker';

describe('CircuitBreaker', () => {
  it('opens after the threshold of consecutive failures and refuses until the reset delay', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 3, resetAfterMs: 1000 }, () => now);
    for (let i = 0; i < 2; i++) {
      expect(breaker.allow()).toBe(true);
      breaker.failure();
    }
    breaker.success(); // a success resets the count
    for (let i = 0; i < 3; i++) {
      expect(breaker.allow()).toBe(true);
      breaker.failure();
    }
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);
    now = 999;
    expect(breaker.allow()).toBe(false);
  });

  it('lets one probe through when half-open: a success closes, a failure opens again', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 1, resetAfterMs: 100 }, () => now);
    breaker.failure();
    now = 100;
    expect(breaker.allow()).toBe(true);
    expect(breaker.state).toBe('half_open');
    expect(breaker.allow()).toBe(false); // only one probe at a time
    breaker.failure();
    expect(breaker.state).toBe('open');
    now = 200;
    expect(breaker.allow()).toBe(true);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.allow()).toBe(true);
    expect(breaker.allow()).toBe(true);
  });
});
