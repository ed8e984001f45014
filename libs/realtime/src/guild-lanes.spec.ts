import { GuildLanes, LaneOverflowError, type LaneStep } from './guild-lanes';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('GuildLanes', () => {
  function lanes(limit = 10) {
    const seen: string[] = [];
    const overflows: Array<{ key: string; dropped: number }> = [];
    const l = new GuildLanes<string>(
      limit,
      (key, step) => {
        if (step.event) seen.push(`${key}:${step.event}`);
        return step.run?.();
      },
      (key, dropped) => overflows.push({ key, dropped: dropped.length }),
      () => undefined,
    );
    return { l, seen, overflows };
  }

  it('runs a step at once when its lane is idle', () => {
    const { l, seen } = lanes();
    l.push('a', { event: '1' });
    l.push('b', { event: '2' });
    expect(seen).toEqual(['a:1', 'b:2']);
    expect(l.depth).toBe(0);
    expect(l.busyLanes).toBe(0);
  });

  it('holds only the waiting lane, in order, and counts its depth', async () => {
    const { l, seen } = lanes();
    const g = gate();
    let ran = false;
    l.push('a', { run: () => g.promise.then(() => void (ran = true)) });
    l.push('a', { event: '1' });
    l.push('b', { event: '2' });
    l.push('a', { event: '3' });
    expect(seen).toEqual(['b:2']);
    expect(l.depth).toBe(2);
    expect(l.maxDepth).toBe(2);
    expect(l.busyLanes).toBe(1);
    g.open();
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).toBe(true);
    expect(seen).toEqual(['b:2', 'a:1', 'a:3']);
    expect(l.busyLanes).toBe(0);
  });

  it('drops a lane that passes its bound and says so', async () => {
    const { l, seen, overflows } = lanes(2);
    const g = gate();
    const dropped: Error[] = [];
    l.push('a', { run: () => g.promise });
    const waiting: LaneStep<string> = { run: () => undefined, dropped: (err) => dropped.push(err) };
    l.push('a', waiting);
    l.push('a', { event: '1' });
    l.push('a', { event: '2' });
    expect(overflows).toEqual([{ key: 'a', dropped: 3 }]);
    expect(dropped[0]).toBeInstanceOf(LaneOverflowError);
    expect(l.depth).toBe(0);
    g.open();
    await new Promise((resolve) => setImmediate(resolve));
    l.push('a', { event: '3' });
    expect(seen).toEqual(['a:3']);
  });
});
