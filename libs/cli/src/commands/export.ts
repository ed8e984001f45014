import { loadConfig } from '@parley/config';
import {
  configuredEndpoint,
  exportTo,
  openSource,
  parseEndpoint,
  ProgressDisplay,
  UsageError,
} from '@parley/migration';
import { options, positiveInt } from '../options';
import { err, out } from '../output';
import type { Command } from './command';

/** `parley export`: every table to a versioned NDJSON file (gzip when the name ends in .gz). */
export const exportCommand: Command = async (args) => {
  const { values } = options(args, {
    out: { type: 'string' },
    from: { type: 'string' },
    'batch-size': { type: 'string' },
  });
  if (!values.out) throw new UsageError('--out <file.ndjson[.gz]> is required');
  const config = loadConfig();
  const from = values.from ? parseEndpoint(values.from, config) : configuredEndpoint(config);
  const source = await openSource(from, config);
  try {
    err(`export: ${source.label} -> ${values.out}`);
    const result = await exportTo(source.bulk, values.out, {
      batchSize: positiveInt('batch-size', values['batch-size'], 2000),
      progress: new ProgressDisplay(process.stderr),
    });
    const total = Object.values(result.counts).reduce((a, b) => a + b, 0);
    out(
      `exported ${total.toLocaleString('en-US')} records to ${values.out} in ${result.seconds.toFixed(1)} s`,
    );
    return 0;
  } finally {
    await source.close();
  }
};
