import { HotReadCache } from './hot-reads';

/** A load the test settles by hand, counting how many were started. */
function manualLoads<V>() {
  const pending: { resolve: (v: V) => void; reject: (e: unknown) => void }[] = [];
  const load = () =>
    new Promise<V>((resolve, reject) => {
      pending.push({ resolve, reject });
    });
  return { load, pending };
}

describe('HotReadCache', () => {
  it('shares one load among identical reads in flight, then answers from the cache', async () => {
    const cache = new HotReadCache<string>('t', 10, 60_000);
    const { load, pending } = manualLoads<string>();
    const reads = [cache.get('k', load), cache.get('k', load), cache.get('k', load)];
    expect(pending).toHaveLength(1);
    pending[0].resolve('v');
    expect(await Promise.all(reads)).toEqual(['v', 'v', 'v']);
    expect(await cache.get('k', load)).toBe('v');
    expect(pending).toHaveLength(1);
    expect(cache.stats).toMatchObject({ misses: 1, coalesced: 2, hits: 1 });
  });

  it('detaches a read in flight on forget: later reads load again and the old answer is not kept', async () => {
    const cache = new HotReadCache<string>('t', 10, 60_000);
    const { load, pending } = manualLoads<string>();
    const early = cache.get('k', load);
    cache.forget('k'); // a write landed after the read started
    const late = cache.get('k', load);
    expect(pending).toHaveLength(2);
    pending[1].resolve('new');
    pending[0].resolve('old');
    expect(await early).toBe('old');
    expect(await late).toBe('new');
    expect(await cache.get('k', load)).toBe('new');
  });

  it('keeps nothing a load failed or `keep` refused, and evicts the least recently used', async () => {
    const cache = new HotReadCache<string | null>('t', 2, 60_000);
    await expect(cache.get('x', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(cache.peek('x')).toBeUndefined();
    await cache.get(
      'absent',
      () => Promise.resolve(null),
      (v) => v !== null,
    );
    expect(cache.peek('absent')).toBeUndefined();
    await cache.get('a', () => Promise.resolve('a'));
    await cache.get('b', () => Promise.resolve('b'));
    cache.peek('a'); // a is now the most recently used
    await cache.get('c', () => Promise.resolve('c'));
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.peek('a')?.value).toBe('a');
  });

  it('with a TTL of 0 coalesces only', async () => {
    const cache = new HotReadCache<string>('t', 10, 0);
    await cache.get('k', () => Promise.resolve('v'));
    expect(cache.peek('k')).toBeUndefined();
  });

  it('getMany reads all uncached keys in one load, sharing flights with get and honouring forget', async () => {
    const cache = new HotReadCache<string | null>('t', 10, 60_000);
    await cache.get('a', () => Promise.resolve('A'));
    const { load: one, pending: singles } = manualLoads<string | null>();
    const flying = cache.get('b', one);
    const batches: { keys: string[]; resolve: (v: (string | null)[]) => void }[] = [];
    const loadMany = (keys: string[]) =>
      new Promise<(string | null)[]>((resolve) => {
        batches.push({ keys, resolve });
      });
    const many = cache.getMany(['c', 'a', 'b', 'd', 'c'], loadMany, (v) => v !== null);
    expect(batches.map((b) => b.keys)).toEqual([['c', 'd']]);
    // A get of a key the batch reads joins it; a forget detaches it.
    const joined = cache.get('c', one);
    cache.forget('d');
    expect(singles).toHaveLength(1);
    singles[0].resolve('B');
    batches[0].resolve(['C', null]);
    expect(await many).toEqual(['C', 'A', 'B', null, 'C']);
    expect(await joined).toBe('C');
    await flying;
    expect(cache.peek('c')?.value).toBe('C');
    expect(cache.peek('d')).toBeUndefined();
    expect(cache.stats).toMatchObject({ misses: 4, coalesced: 2 });
  });
});
