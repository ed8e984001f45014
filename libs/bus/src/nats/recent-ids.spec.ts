import { RecentIds } from './recent-ids';

describe('RecentIds', () => {
  it('forgets ids older than its window or beyond its count', () => {
    const recent = new RecentIds(1_000, 3);
    recent.add('a', 0);
    recent.add('b', 500);
    expect([recent.has('a'), recent.has('b')]).toEqual([true, true]);
    recent.add('c', 1_200); // 'a' is older than a second now
    expect([recent.has('a'), recent.has('b'), recent.has('c')]).toEqual([false, true, true]);
    recent.add('d', 1_300);
    recent.add('e', 1_400); // four kept would be one too many
    expect([recent.has('b'), recent.has('c'), recent.has('e'), recent.size]).toEqual([false, true, true, 3]);
  });

  it('forgets nothing while frozen (a catch-up after an outage still knows what came before it)', () => {
    const recent = new RecentIds(1_000, 2);
    recent.add('before', 0);
    recent.frozen = true;
    for (let i = 0; i < 5; i++) recent.add(`caught-up-${i}`, 60_000);
    expect(recent.has('before')).toBe(true);
    recent.frozen = false;
    recent.add('live', 60_001);
    expect([recent.has('before'), recent.has('live'), recent.size]).toEqual([false, true, 2]);
  });
});
