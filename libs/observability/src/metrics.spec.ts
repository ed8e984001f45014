import type { ParleyConfig } from '@parley/config';
import { Metrics } from './metrics';

const config = (enabled: boolean) => ({ metrics: { enabled } }) as ParleyConfig;

describe('Metrics', () => {
  it('collects the process and event-loop metrics when metrics.enabled is true (the default)', async () => {
    for (const metrics of [new Metrics(), new Metrics(config(true))]) {
      expect(metrics.enabled).toBe(true);
      const text = await metrics.registry.metrics();
      expect(text).toContain('process_resident_memory_bytes');
      expect(text).toContain('nodejs_eventloop_lag_p99_seconds');
      metrics.registry.clear();
    }
  });

  it('collects nothing in the background when metrics.enabled is false', async () => {
    const metrics = new Metrics(config(false));
    expect(metrics.enabled).toBe(false);
    const text = await metrics.registry.metrics();
    expect(text).not.toContain('process_');
    expect(text).not.toContain('nodejs_');
  });
});
