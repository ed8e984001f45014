/**
 * Ids of the events a node delivered lately, so a catch-up from the event history after a reconnect skips what
 * had already arrived live. Bounded by age and count; `frozen` (while a catch-up runs) stops the pruning, so
 * what was delivered just before the outage is still known however long it lasted.
 */
export class RecentIds {
  private ids: string[] = [];
  private times: number[] = [];
  private head = 0;
  private readonly set = new Set<string>();
  frozen = false;

  constructor(
    private readonly windowMs: number,
    private readonly max: number,
  ) {}

  add(id: string, now = Date.now()): void {
    if (this.set.has(id)) return;
    this.set.add(id);
    this.ids.push(id);
    this.times.push(now);
    if (!this.frozen) this.prune(now);
  }

  has(id: string): boolean {
    return this.set.has(id);
  }

  get size(): number {
    return this.set.size;
  }

  private prune(now: number): void {
    while (
      this.head < this.ids.length &&
      (this.ids.length - this.head > this.max || now - this.times[this.head] > this.windowMs)
    ) {
      this.set.delete(this.ids[this.head]);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.ids.length) {
      this.ids = this.ids.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
  }
}
