import { writeFileSync } from 'node:fs';
import { loadConfig } from '@parley/config';
import { compare, comparisonJson, formatComparison, openSource } from '@parley/migration';
import { endpoints, withEndpoints } from '../endpoints';
import { options, positiveInt } from '../options';
import { err, out } from '../output';
import type { Command } from './command';

/** `parley verify`: compares two databases read-only; exit 2 when they differ. */
export const verify: Command = async (args) => {
  const { values } = options(args, {
    from: { type: 'string' },
    to: { type: 'string' },
    report: { type: 'string' },
    limit: { type: 'string' },
  });
  const config = loadConfig();
  const [from, to] = endpoints(config, values.from, values.to);
  return withEndpoints(
    () => [openSource(from, config), openSource(to, config)],
    async (source, target) => {
      err(`verify: ${source.label} against ${target.label}`);
      const comparison = await compare(source.bulk, target.bulk, { onTable: (t) => err(`verify: ${t}`) });
      out(formatComparison(comparison, source.label, target.label, positiveInt('limit', values.limit, 20)));
      if (values.report)
        writeFileSync(
          values.report,
          JSON.stringify(comparisonJson(comparison, source.label, target.label), null, 2),
        );
      return comparison.equal ? 0 : 2;
    },
  );
};
