/** How long no request must have been in flight for the process to count as quiet. */
const QUIET_MS = 10;

/**
 * The HTTP requests this process is serving (counted by the HTTP edge), so background work in the same process
 * (the monolith's durable jobs: link previews, notifications, counters) can give way to them: Node has no thread
 * priorities, so a job started mid-burst shares the event loop and the SQLite writer with every request.
 */
export class RequestActivity {
  private inFlight = 0;
  private lastEnd = 0;

  begin(): void {
    this.inFlight++;
  }

  end(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.lastEnd = performance.now();
  }

  /** No request in flight, and none ended in the last few milliseconds. */
  get quiet(): boolean {
    return this.inFlight === 0 && performance.now() - this.lastEnd >= QUIET_MS;
  }

  /** Resolves once the process is quiet, or after `maxMs` at the latest (background work is held back, never starved). */
  async whenQuiet(maxMs: number): Promise<void> {
    const until = performance.now() + maxMs;
    while (!this.quiet && performance.now() < until)
      await new Promise<void>((resolve) => setTimeout(resolve, QUIET_MS).unref());
  }
}

/** This process's requests (one HTTP server per process). */
export const requestActivity = new RequestActivity();
