/**
 * A bounded map whose entries expire `ttlMs` after they were set. When full, the oldest insertion goes first
 * (Map keeps insertion order, so eviction is O(1)). For read-through caches of records that change rarely and
 * whose changes are announced (the caller deletes on the announcement; the TTL bounds what a lost announcement
 * can cost).
 *
 * `generation` guards the read-through race: a loader captures it before reading storage and calls `set` with
 * it; if anything was invalidated in between, the value it read may predate the change and is not cached.
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private invalidations = 0;

  constructor(
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}

  get generation(): number {
    return this.invalidations;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores `value` unless something was invalidated since `generation` was read. */
  set(key: string, value: V, generation: number, now = Date.now()): void {
    if (generation !== this.invalidations) return;
    if (this.entries.size >= this.max && !this.entries.has(key)) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expires: now + this.ttlMs });
  }

  delete(key: string): void {
    this.invalidations++;
    this.entries.delete(key);
  }

  clear(): void {
    this.invalidations++;
    this.entries.clear();
  }
}
