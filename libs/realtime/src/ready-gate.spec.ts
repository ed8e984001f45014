import type { ParleyConfig } from '@parley/config';
import { Gauge, Registry } from 'prom-client';
import type { GatewayMetrics } from './gateway.metrics';
import { ReadyGate } from './ready-gate';

function gate(limit: number, jitter: number) {
  const config = { gateway: { ready_concurrency: limit, ready_jitter: jitter } } as ParleyConfig;
  const readyWaiting = new Gauge({ name: 'w', help: 'w', registers: [new Registry()] });
  return { gate: new ReadyGate(config, { readyWaiting } as unknown as GatewayMetrics), readyWaiting };
}

describe('ReadyGate', () => {
  it('runs at most the limit at once and lets every one through', async () => {
    const { gate: g, readyWaiting } = gate(2, 5);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const releases: Array<() => void> = [];
    const tasks = Array.from({ length: 6 }, (_, i) =>
      g.enter().then(async (leave) => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        leave();
      }),
    );
    // Finish whatever runs, one at a time, until all six went through.
    while (started.length < 6 || running > 0) {
      await new Promise((r) => setImmediate(r));
      if (releases.length > 0) releases.shift()!();
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all(tasks);
    expect(peak).toBe(2);
    expect([...started].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(g.active).toBe(0);
    expect((await readyWaiting.get()).values[0].value).toBe(0);
  });

  it('gives a place back once however often its release is called', async () => {
    const { gate: g } = gate(1, 0);
    const leave = await g.enter();
    leave();
    leave();
    expect(g.active).toBe(0);
    const a = await g.enter();
    expect(g.active).toBe(1);
    a();
  });
});
