import type { ParleyConfig } from '@parley/config';
import { activeTracing, startTracing } from './tracing';
import { tracesUrl } from './tracing-sdk';

describe('tracing', () => {
  it('stays off, loading nothing, when telemetry.enabled is false', () => {
    const config = { telemetry: { enabled: false, sample_rate: 1, otlp_endpoint: 'http://127.0.0.1:1' } };
    expect(startTracing(config as ParleyConfig, 'api')).toBeNull();
    expect(activeTracing()).toBeNull();
  });

  it('sends to <endpoint>/v1/traces, or to the full traces URL as given', () => {
    expect(tracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(tracesUrl('http://collector:4318/')).toBe('http://collector:4318/v1/traces');
    expect(tracesUrl('https://otel.example/v1/traces')).toBe('https://otel.example/v1/traces');
  });
});
