import { loadConfig } from '@parley/config';
import { configuredEndpoint, openTarget, parseEndpoint, UsageError } from '@parley/migration';
import { READ_ONLY_POLL_MS, readMaintenance, writeMaintenance } from '@parley/platform';
import { options } from '../options';
import { out } from '../output';
import type { Command } from './command';

/** `parley maintenance on|off|status`: the read-only flag every server on the database follows. */
export const maintenance: Command = async (args) => {
  const { values, positionals } = options(args, { db: { type: 'string' }, message: { type: 'string' } }, 1);
  const action = positionals[0];
  if (action !== 'on' && action !== 'off' && action !== 'status')
    throw new UsageError('maintenance needs on, off or status');
  const config = loadConfig();
  const spec = values.db ? parseEndpoint(values.db, config) : configuredEndpoint(config);
  const db = await openTarget(spec, config);
  try {
    const settings = db.bulk.settings;
    if (action !== 'status') {
      const enabled = action === 'on';
      await writeMaintenance(settings, {
        enabled,
        since: enabled ? Date.now() : null,
        message: enabled ? (values.message ?? null) : null,
      });
    }
    const state = await readMaintenance(settings);
    const forced = config.instance.read_only ? ' (and instance.read_only is set in this configuration)' : '';
    out(
      state.enabled
        ? `maintenance mode is ON for ${db.label} since ${new Date(state.since ?? 0).toISOString()}` +
            `${state.message ? `: ${state.message}` : ''}${forced}; writes answer 503`
        : `maintenance mode is OFF for ${db.label}${forced}`,
    );
    if (action !== 'status')
      out(`every server on this database follows within about ${READ_ONLY_POLL_MS / 1000} s`);
    return 0;
  } finally {
    await db.close();
  }
};
