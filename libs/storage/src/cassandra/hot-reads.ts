import type { HotReadStats } from '../contract';

interface Flight<V> {
  readonly promise: Promise<V>;
}

/**
 * A small read-through cache for one kind of hot read, with request coalescing: identical reads in flight at
 * once share one storage request (singleflight), and the answer is kept for `ttlMs`, at most `max` entries,
 * least recently used evicted first.
 *
 * `forget(key)` is the invalidation (the write paths of this process call it after their write; bus events call
 * it for other processes' writes). It also detaches a read in flight for that key: callers arriving after the
 * write never join a read that may have started before it, and that read's answer is not cached.
 */
export class HotReadCache<V> {
  private readonly entries = new Map<string, { value: V; expires: number }>();
  private readonly flights = new Map<string, Flight<V>>();
  readonly stats: HotReadStats;

  constructor(
    name: string,
    private readonly max: number,
    private readonly ttlMs: number,
  ) {
    this.stats = { cache: name, hits: 0, misses: 0, coalesced: 0 };
  }

  /** The cached value, or the shared in-flight read, or a new read by `load` (cached unless `keep` says no). */
  get(key: string, load: () => Promise<V>, keep: (value: V) => boolean = () => true): Promise<V> {
    const cached = this.peek(key);
    if (cached !== undefined) {
      this.stats.hits++;
      return Promise.resolve(cached.value);
    }
    const flying = this.flights.get(key);
    if (flying) {
      this.stats.coalesced++;
      return flying.promise;
    }
    this.stats.misses++;
    return this.fly(key, load(), keep);
  }

  /**
   * `get` for several keys at once: the cached and in-flight ones as `get` answers them, all the others read by
   * one `loadMany` call (answering in the order of the keys it is given), each still a flight of its own, so a
   * `get` of one of them meanwhile joins it and a `forget` detaches it. Values in the order of `keys`.
   */
  getMany(
    keys: readonly string[],
    loadMany: (missing: string[]) => Promise<V[]>,
    keep: (value: V) => boolean = () => true,
  ): Promise<V[]> {
    const answers = new Map<string, Promise<V>>();
    const missing: string[] = [];
    const seen = new Set<string>();
    for (const key of keys) {
      if (seen.has(key)) continue;
      seen.add(key);
      const cached = this.peek(key);
      if (cached !== undefined) {
        this.stats.hits++;
        answers.set(key, Promise.resolve(cached.value));
        continue;
      }
      const flying = this.flights.get(key);
      if (flying) {
        this.stats.coalesced++;
        answers.set(key, flying.promise);
        continue;
      }
      this.stats.misses++;
      missing.push(key);
    }
    if (missing.length > 0) {
      const batch = loadMany(missing);
      missing.forEach((key, i) => {
        answers.set(
          key,
          this.fly(
            key,
            batch.then((values) => values[i]),
            keep,
          ),
        );
      });
    }
    return Promise.all(keys.map((key) => answers.get(key) as Promise<V>));
  }

  /** Registers `read` as the key's flight; its answer fills the cache unless a forget() detached it. */
  private fly(key: string, read: Promise<V>, keep: (value: V) => boolean): Promise<V> {
    const flight: { promise: Promise<V> } = {
      promise: read.then(
        (value) => {
          // Only the read still registered for the key may fill it: a forget() since it started detached it.
          if (this.flights.get(key) === flight) {
            this.flights.delete(key);
            if (this.ttlMs > 0 && keep(value)) this.put(key, value);
          }
          return value;
        },
        (err: unknown) => {
          if (this.flights.get(key) === flight) this.flights.delete(key);
          throw err;
        },
      ),
    };
    this.flights.set(key, flight);
    return flight.promise;
  }

  /** A cached entry, counted as a hit; undefined (and nothing counted) when not cached. */
  cached(key: string): { value: V } | undefined {
    const entry = this.peek(key);
    if (entry !== undefined) this.stats.hits++;
    return entry;
  }

  /** A cached, unexpired entry (refreshed as most recently used). */
  peek(key: string, now = Date.now()): { value: V } | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expires <= now) return undefined;
    this.entries.set(key, entry);
    return { value: entry.value };
  }

  /** Changes a cached entry in place (keeping its expiry); nothing when not cached. */
  amend(key: string, change: (value: V) => V): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) entry.value = change(entry.value);
  }

  forget(key: string): void {
    this.entries.delete(key);
    this.flights.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.flights.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private put(key: string, value: V): void {
    if (this.entries.size >= this.max && !this.entries.has(key)) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
  }
}
