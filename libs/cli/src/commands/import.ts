import { loadConfig } from '@parley/config';
import { configuredEndpoint, importFrom, openTarget, parseEndpoint, UsageError } from '@parley/migration';
import { options, positiveInt } from '../options';
import { err, out } from '../output';
import type { Command } from './command';

/** `parley import`: validates an export file, then writes its records (idempotent); bad lines exit 65. */
export const importCommand: Command = async (args) => {
  const { values, positionals } = options(
    args,
    { to: { type: 'string' }, 'skip-invalid': { type: 'boolean' }, 'batch-size': { type: 'string' } },
    1,
  );
  const file = positionals[0];
  if (!file) throw new UsageError('import needs the file to read: parley import <file.ndjson[.gz]>');
  const config = loadConfig();
  const to = values.to ? parseEndpoint(values.to, config) : configuredEndpoint(config);
  const target = await openTarget(to, config);
  try {
    err(`import: ${file} -> ${target.label}`);
    const result = await importFrom(target.bulk, file, {
      skipInvalid: values['skip-invalid'],
      batchSize: positiveInt('batch-size', values['batch-size'], 1000),
      onProblem: (p) => err(`${file}:${p.line}: ${p.message}`),
      onTable: (t) => err(`import: ${t}`),
    });
    const valid = Object.values(result.records).reduce((a, b) => a + b, 0);
    if (result.problems.length > 0 && result.applied === 0 && !values['skip-invalid']) {
      out(
        `${result.problems.length} bad line(s) in ${file}; nothing was imported ` +
          '(fix them, or import the valid records with --skip-invalid)',
      );
      return 65;
    }
    out(
      `imported ${result.applied.toLocaleString('en-US')} of ${valid.toLocaleString('en-US')} valid records ` +
        `in ${result.seconds.toFixed(1)} s` +
        (result.problems.length > 0
          ? `; ${result.problems.length} line(s) were not imported (see above)`
          : ''),
    );
    return result.problems.length > 0 ? 65 : 0;
  } finally {
    await target.close();
  }
};
