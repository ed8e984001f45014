import { loadConfig } from '@parley/config';
import { BENCH_SWITCH_ENV, benchSwitchArmed } from './bench-switch';
import { configProblems as problems } from '@parley/config/testing';

const config = (host: string, backend: 'sqlite' | 'cassandra' = 'cassandra') =>
  loadConfig({ env: { PARLEY__SERVER__HOST: host, PARLEY__DATABASE__BACKEND: backend } });

describe('benchSwitchArmed', () => {
  it('is off unless the variable is set, whatever the configuration', () => {
    expect(benchSwitchArmed({}, config('0.0.0.0'))).toBe(false);
    expect(benchSwitchArmed({ [BENCH_SWITCH_ENV]: '' }, config('0.0.0.0', 'sqlite'))).toBe(false);
    expect(benchSwitchArmed({ [BENCH_SWITCH_ENV]: '0' }, config('10.0.0.5'))).toBe(false);
  });

  it('arms on a Cassandra server listening on loopback', () => {
    expect(benchSwitchArmed({ [BENCH_SWITCH_ENV]: '1' }, config('127.0.0.1'))).toBe(true);
    expect(benchSwitchArmed({ [BENCH_SWITCH_ENV]: '1' }, config('::1'))).toBe(true);
  });

  it('stops the start when set on a server reachable from elsewhere, on SQLite, or to another value', () => {
    expect(problems(() => benchSwitchArmed({ [BENCH_SWITCH_ENV]: '1' }, config('0.0.0.0')))).toEqual([
      expect.stringContaining('only on a server listening on loopback'),
    ]);
    expect(
      problems(() => benchSwitchArmed({ [BENCH_SWITCH_ENV]: '1' }, config('127.0.0.1', 'sqlite'))),
    ).toEqual([expect.stringContaining('only for database.backend "cassandra"')]);
    expect(problems(() => benchSwitchArmed({ [BENCH_SWITCH_ENV]: 'yes' }, config('127.0.0.1')))).toEqual([
      expect.stringContaining('expected 1'),
    ]);
  });
});
