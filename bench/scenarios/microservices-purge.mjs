// Removes what a run of bench/scenarios/microservices.mjs left in the shared NATS (its streams) and Redis (its
// keys) under one prefix. Imported by the scenario; also run as `node microservices-purge.mjs <prefix>...` from its
// exit hook, which cannot wait for network calls itself.
import { pathToFileURL } from 'node:url';

import { SHARED_NATS, SHARED_REDIS, purgePrefix as purgeShared } from '../../test/support/services.ts';

export const REDIS_URL = SHARED_REDIS;
export const NATS_URL = SHARED_NATS;

/** Removes what one mode left in the shared NATS (its streams) and Redis (its keys): the tests' clean-up. */
export function purgePrefix(prefix) {
  return purgeShared(prefix, NATS_URL, REDIS_URL, (what, err) =>
    process.stderr.write(`bench: microservices: ${what} clean-up of ${prefix} failed: ${err?.message}\n`),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const prefix of process.argv.slice(2)) if (/^bms[0-9a-z]+$/.test(prefix)) await purgePrefix(prefix);
  process.exit(0);
}
