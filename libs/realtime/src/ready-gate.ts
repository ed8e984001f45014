import { Inject, Injectable } from '@nestjs/common';
import { PARLEY_CONFIG, type ParleyConfig } from '@parley/config';
import { GatewayMetrics } from './gateway.metrics';

/**
 * A concurrency limit with jitter in front of READY's reads (the user's guilds, channels, read states and
 * presences): at most `gateway.ready_concurrency` run at once; the rest wait in arrival order, and each one that
 * had to wait starts after a random delay of up to `gateway.ready_jitter` ms, so a crowd that reconnects at once
 * (a deploy, a network blip) reaches storage spread out instead of as one wave. Resumes do not pass through here.
 */
@Injectable()
export class ReadyGate {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(
    @Inject(PARLEY_CONFIG) private readonly config: ParleyConfig,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** Resolves with the function that gives the place back, once this READY may run. */
  async enter(): Promise<() => void> {
    const { ready_concurrency: limit, ready_jitter: jitter } = this.config.gateway;
    if (this.running < limit && this.queue.length === 0) {
      this.running++;
      return this.leave();
    }
    this.metrics.readyWaiting.inc();
    await new Promise<void>((resolve) => this.queue.push(resolve));
    this.metrics.readyWaiting.dec();
    if (jitter > 0) await new Promise((r) => setTimeout(r, Math.random() * jitter));
    return this.leave();
  }

  /** How many READYs run now (tests, diagnostics). */
  get active(): number {
    return this.running;
  }

  private leave(): () => void {
    let left = false;
    return () => {
      if (left) return;
      left = true;
      // The place passes straight to the next in line (running stays the same), or comes free.
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    };
  }
}
