import type { ParleyConfig } from '@parley/config';
import {
  configuredEndpoint,
  parseEndpoint,
  sameEndpoint,
  UsageError,
  type Endpoint,
  type EndpointSpec,
} from '@parley/migration';

/** --from is required; --to defaults to the configured database; they must differ. */
export function endpoints(
  config: ParleyConfig,
  from: string | undefined,
  to: string | undefined,
): [EndpointSpec, EndpointSpec] {
  if (!from) throw new UsageError('--from <db> is required (e.g. --from sqlite:./data/parley.db)');
  const source = parseEndpoint(from, config);
  const target = to ? parseEndpoint(to, config) : configuredEndpoint(config);
  if (sameEndpoint(source, target))
    throw new UsageError(
      `--from and --to name the same database (${from}); the target defaults to the configured database.backend, ` +
        'set it with --to or PARLEY__DATABASE__BACKEND',
    );
  return [source, target];
}

/** Opens both databases, runs the work, and closes whatever opened, also when the other failed to. */
export async function withEndpoints<T>(
  open: () => Promise<Endpoint>[],
  work: (source: Endpoint, target: Endpoint) => Promise<T>,
): Promise<T> {
  const opened = await Promise.allSettled(open());
  const ready = opened
    .filter((o): o is PromiseFulfilledResult<Endpoint> => o.status === 'fulfilled')
    .map((o) => o.value);
  const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  try {
    if (failed) throw failed.reason;
    return await work(ready[0], ready[1]);
  } finally {
    await Promise.all(ready.map((e) => e.close().catch(() => undefined)));
  }
}
