import { SortedRows } from './sorted-rows';

/** Deterministic PRNG (mulberry32): a failing seed reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const byNumber = (a: number, b: number) => a - b;

/** The plain array's answer to lowerBound, as the row store must give it. */
function lowerBound(rows: number[], v: number): number {
  const i = rows.findIndex((r) => r >= v);
  return i < 0 ? rows.length : i;
}

describe('SortedRows', () => {
  // The property: whatever the churn (blocks splitting, emptying, merging), it answers as one sorted array would.
  // Small blocks (and the default) so a run splits, empties and merges many of them.
  it.each([
    [1, 8],
    [2, 8],
    [3, 64],
    [4, 512],
  ])(
    'answers as one sorted array under random inserts, deletes and replaces (seed %i, blocks of %i)',
    (seed, block) => {
      const random = prng(seed);
      const store = new SortedRows<number>(byNumber, block);
      const start = Array.from({ length: 1000 }, () => Math.floor(random() * 100_000)).sort(byNumber);
      store.reset(start);
      const model = [...start];
      for (let step = 0; step < 6000; step++) {
        const r = random();
        // Phases of growth and of shrinking, so blocks both split and merge.
        const grow = Math.floor(step / 1500) % 2 === 0;
        if (model.length === 0 || r < (grow ? 0.7 : 0.3)) {
          const v = Math.floor(random() * 100_000);
          const at = store.lowerBound(v);
          expect(at).toBe(lowerBound(model, v));
          store.insertAt(at, v);
          model.splice(at, 0, v);
        } else {
          const at = Math.floor(random() * model.length);
          if (r < 0.95) {
            store.removeAt(at);
            model.splice(at, 1);
          } else {
            // A replacement that keeps the order (what a renamed member between the same neighbours is).
            store.replace(at, model[at]);
          }
        }
        expect(store.length).toBe(model.length);
        if (step % 500 === 0) expect(store.slice(0, model.length - 1)).toEqual(model);
        const probe = Math.floor(random() * (model.length + 2)) - 1;
        expect(store.at(probe)).toBe(model[probe]);
      }
      expect(store.slice(0, model.length - 1)).toEqual(model);
      expect(store.slice(10, 20)).toEqual(model.slice(10, 21));
      expect(store.slice(model.length - 5, model.length + 50)).toEqual(model.slice(model.length - 5));
    },
  );

  it('starts empty and appends', () => {
    const store = new SortedRows<number>(byNumber);
    expect(store.lowerBound(5)).toBe(0);
    store.insertAt(0, 5);
    store.insertAt(store.lowerBound(7), 7);
    store.insertAt(store.lowerBound(1), 1);
    expect(store.slice(0, 10)).toEqual([1, 5, 7]);
    store.removeAt(1);
    store.removeAt(0);
    store.removeAt(0);
    expect(store.length).toBe(0);
    expect(store.slice(0, 10)).toEqual([]);
  });
});
