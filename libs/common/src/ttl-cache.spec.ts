import { TtlCache } from './ttl-cache';

describe('TtlCache', () => {
  it('serves an entry until it expires', () => {
    const cache = new TtlCache<string>(10, 1000);
    cache.set('a', 'one', cache.generation, 0);
    expect(cache.get('a', 999)).toBe('one');
    expect(cache.get('a', 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts the oldest insertion when full', () => {
    const cache = new TtlCache<number>(2, 1000);
    for (const [k, v] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      cache.set(k, v, cache.generation, 0);
    expect([cache.get('a', 1), cache.get('b', 1), cache.get('c', 1)]).toEqual([undefined, 2, 3]);
  });

  it('does not cache a value read before an invalidation that happened during the read', () => {
    const cache = new TtlCache<string>(10, 1000);
    const generation = cache.generation; // a loader starts reading storage
    cache.delete('a'); // the change is announced meanwhile
    cache.set('a', 'stale', generation, 0);
    expect(cache.get('a', 1)).toBeUndefined();
    cache.set('a', 'fresh', cache.generation, 0);
    expect(cache.get('a', 1)).toBe('fresh');
    cache.clear();
    expect(cache.get('a', 1)).toBeUndefined();
  });
});
