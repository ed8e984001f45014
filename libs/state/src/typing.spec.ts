import { MemoryTypingStore } from './typing';

describe('MemoryTypingStore', () => {
  it('forwards a start, holds renewals within the refresh window, and forwards again after it', () => {
    const store = new MemoryTypingStore(10_000, 5_000);
    expect(store.start('c', 'u', 0)).toBe(true);
    expect(store.start('c', 'u', 4_999)).toBe(false);
    expect(store.start('c', 'u', 5_000)).toBe(true);
    expect(store.start('c', 'v', 5_001)).toBe(true);
    expect(store.active('c', 6_000).sort()).toEqual(['u', 'v']);
    expect(store.active('c', 15_000)).toEqual(['v']);
  });

  it('ends typing when the user sends a message, so the next start is news', () => {
    const store = new MemoryTypingStore();
    expect(store.start('c', 'u', 0)).toBe(true);
    store.stop('c', 'u');
    expect(store.active('c', 1)).toEqual([]);
    expect(store.start('c', 'u', 2)).toBe(true);
  });

  it('forgets expired entries', () => {
    const store = new MemoryTypingStore(10_000, 5_000);
    store.start('a', 'u', 0);
    store.start('b', 'u', 20_000);
    expect(store.size).toBe(1);
  });
});
