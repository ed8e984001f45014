export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses calls before letting one through to probe. */
  resetAfterMs: number;
}

/**
 * Fails calls fast while a dependency keeps failing, instead of letting every caller wait out its timeout:
 * closed -> (threshold consecutive failures) -> open -> (resetAfter) -> half-open: one probe call decides.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  state: BreakerState = 'closed';

  constructor(
    private readonly options: BreakerOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a call may go out now; a half-open circuit lets exactly one through. */
  allow(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (this.now() - this.openedAt < this.options.resetAfterMs) return false;
      this.state = 'half_open';
      this.probing = false;
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    this.state = 'closed';
  }

  failure(): void {
    this.probing = false;
    if (this.state === 'half_open' || ++this.failures >= this.options.failureThreshold) {
      this.state = 'open';
      this.openedAt = this.now();
      this.failures = 0;
    }
  }
}
