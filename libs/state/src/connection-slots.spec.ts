import { MemoryConnectionSlots } from './connection-slots';

describe('MemoryConnectionSlots', () => {
  it('gives at most `limit` places per key, again once one is released, and keeps nothing after', () => {
    const slots = new MemoryConnectionSlots();
    expect(slots.claim('u1', 'a', 2)).toBe(true);
    expect(slots.claim('u1', 'b', 2)).toBe(true);
    expect(slots.claim('u1', 'c', 2)).toBe(false);
    expect(slots.claim('u1', 'a', 2)).toBe(true); // a holder keeps its place
    expect(slots.claim('u2', 'c', 2)).toBe(true);
    slots.release('u1', 'a');
    slots.release('u1', 'a');
    expect(slots.claim('u1', 'c', 2)).toBe(true);
    for (const [key, holder] of [
      ['u1', 'b'],
      ['u1', 'c'],
      ['u2', 'c'],
    ])
      slots.release(key, holder);
    expect(slots.size).toBe(0);
  });
});
