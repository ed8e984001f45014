import { writeFileSync } from 'node:fs';
import { loadConfig } from '@parley/config';
import {
  compare,
  comparisonJson,
  configuredEndpoint,
  findDeletedAccountLeftovers,
  formatComparison,
  openSource,
  parseEndpoint,
} from '@parley/migration';
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
    'deleted-accounts': { type: 'boolean' },
    claims: { type: 'boolean' },
  });
  const config = loadConfig();
  if (values.claims) {
    // One database (--from, or the configured one): every uniqueness claim and its holder agree.
    const spec = values.from ? parseEndpoint(values.from, config) : configuredEndpoint(config);
    const source = await openSource(spec, config);
    try {
      let mismatches = 0;
      const counts = await source.bulk.reconcileClaims((m) => {
        mismatches++;
        out(`verify: ${m.kind} ${m.key}: ${m.problem}`);
      });
      const read = Object.entries(counts)
        .map(([kind, n]) => `${n} ${kind}`)
        .join(', ');
      out(`verify: claims read: ${read}; ${mismatches} mismatch(es)`);
      return mismatches === 0 ? 0 : 2;
    } finally {
      await source.close();
    }
  }
  if (values['deleted-accounts']) {
    // One database (--from, or the configured one): nothing personal of its deleted accounts may be left.
    const spec = values.from ? parseEndpoint(values.from, config) : configuredEndpoint(config);
    const source = await openSource(spec, config);
    try {
      // With `instance.account_deletion: delete` their messages must be gone too.
      const { deleted, leftovers } = await findDeletedAccountLeftovers(source.bulk, {
        messages: config.instance.account_deletion === 'delete',
      });
      for (const l of leftovers) out(`verify: deleted account ${l.userId} still has ${l.what} (${l.table})`);
      out(`verify: ${deleted} deleted account(s), ${leftovers.length} leftover(s) of personal data`);
      return leftovers.length === 0 ? 0 : 2;
    } finally {
      await source.close();
    }
  }
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
