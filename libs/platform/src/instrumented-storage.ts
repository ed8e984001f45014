import type { Metrics } from '@parley/observability';
import type { Storage } from '@parley/storage';

const REPOSITORIES = [
  'users',
  'tokens',
  'guilds',
  'members',
  'roles',
  'channels',
  'dms',
  'messages',
  'reactions',
  'readStates',
  'invites',
  'bans',
  'jobs',
] as const;

/**
 * Wraps every repository method with a latency observation (`parley_db_operation_duration_seconds` by
 * backend and `repository.method`). The wrapper and its labelled child are built once per method, not per
 * call (looking the child up by labels on every call was a measurable share of a message send).
 */
export function instrumentStorage(storage: Storage, metrics: Metrics): Storage {
  const histogram = metrics.dbDuration;
  for (const name of REPOSITORIES) {
    const repository = storage[name] as unknown as Record<string, unknown>;
    if (!repository) continue;
    const proto = Object.getPrototypeOf(repository) as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(proto)) {
      const method = repository[key];
      if (key === 'constructor' || typeof method !== 'function') continue;
      const child = histogram.labels({ backend: storage.backend, operation: `${name}.${key}` });
      const original = (method as (...args: unknown[]) => unknown).bind(repository);
      repository[key] = (...args: unknown[]) => {
        const start = performance.now();
        const end = () => child.observe((performance.now() - start) / 1000);
        const result = original(...args);
        if (result instanceof Promise) return result.finally(end);
        end();
        return result;
      };
    }
  }
  return storage;
}
