import { writeFileSync } from 'node:fs';
import { loadConfig } from '@parley/config';
import {
  comparisonJson,
  CopyError,
  describeDifference,
  duration,
  formatComparison,
  Interrupted,
  migrate as copyAndVerify,
  openSource,
  openTarget,
  ProgressDisplay,
  type MigrateResult,
} from '@parley/migration';
import { readMaintenance } from '@parley/platform';
import { endpoints, withEndpoints } from '../endpoints';
import { interruptible } from '../interrupt';
import { options, positiveInt } from '../options';
import { err, out } from '../output';
import type { Command } from './command';

/** `parley migrate`: the resumable copy from one database into another, then verify and repair. */
export const migrate: Command = async (args) => {
  const { values } = options(args, {
    from: { type: 'string' },
    to: { type: 'string' },
    'batch-size': { type: 'string' },
    parallel: { type: 'string' },
    'max-in-flight': { type: 'string' },
    restart: { type: 'boolean' },
    'no-verify': { type: 'boolean' },
    report: { type: 'string' },
    'progress-interval': { type: 'string' },
  });
  const config = loadConfig();
  const [from, to] = endpoints(config, values.from, values.to);
  const open = { maxInFlight: positiveInt('max-in-flight', values['max-in-flight'], 64) };
  const progress = new ProgressDisplay(process.stderr, {
    intervalMs: positiveInt('progress-interval', values['progress-interval'], 5000),
  });
  return withEndpoints(
    () => [openSource(from, config, open), openTarget(to, config, open)],
    async (source, target) => {
      err(`migrate: ${source.label} -> ${target.label}`);
      const live = !(await readMaintenance(source.bulk.settings).catch(() => ({ enabled: false }))).enabled;
      if (live)
        err(
          'the source is not in maintenance mode: this run is the bulk copy; for the final delta run ' +
            '`npx parley maintenance on` and then this command again',
        );
      const stop = interruptible();
      try {
        const result = await copyAndVerify(source, target, {
          batchSize: positiveInt('batch-size', values['batch-size'], 1000),
          parallel: positiveInt('parallel', values.parallel, 4),
          restart: values.restart,
          verify: !values['no-verify'],
          progress,
          signal: stop.signal,
          log: (line) => progress.note(line),
        });
        const rate = messagesPerSecond(result);
        out(summary(result, rate, source.label, target.label, live));
        if (values.report)
          writeFileSync(
            values.report,
            JSON.stringify(
              {
                source: source.label,
                target: target.label,
                seconds: result.seconds,
                messages_per_second: rate,
                copy: result.copy,
                verified: result.verified,
                comparison:
                  result.comparison && comparisonJson(result.comparison, source.label, target.label),
                repaired: result.repairs,
                remaining: result.remaining.map(describeDifference),
              },
              null,
              2,
            ),
          );
        return result.comparison === null || result.verified ? 0 : 2;
      } catch (e) {
        if (e instanceof Interrupted) {
          err(`migrate: ${e.message}`);
          return 130;
        }
        if (e instanceof CopyError) {
          err(`migrate: the target refused ${e.message}; fix it and run the same command again to resume`);
          return 1;
        }
        throw e;
      } finally {
        stop.dispose();
      }
    },
  );
};

function messagesPerSecond(result: MigrateResult): number | null {
  const messages = result.copy.find((t) => t.table === 'messages');
  return messages && messages.seconds > 0 ? messages.copied / messages.seconds : null;
}

/** The per-table copy figures, the migration rate and the verification's outcome, as the operator reads them. */
function summary(
  result: MigrateResult,
  rate: number | null,
  sourceLabel: string,
  targetLabel: string,
  live: boolean,
): string {
  const lines = ['', 'table          rows   copied now   seconds      rows/s'];
  for (const t of result.copy) {
    const tableRate = t.seconds > 0 ? Math.round(t.copied / t.seconds) : 0;
    lines.push(
      `${t.table.padEnd(12)} ${t.rows.toLocaleString('en-US').padStart(9)}  ${t.copied
        .toLocaleString('en-US')
        .padStart(
          11,
        )}  ${t.seconds.toFixed(1).padStart(8)}  ${(t.skipped ? '(done before)' : tableRate.toLocaleString('en-US')).padStart(10)}`,
    );
  }
  if (rate !== null) lines.push('', `migration rate: ${Math.round(rate).toLocaleString('en-US')} messages/s`);
  if (result.comparison) {
    lines.push('', formatComparison(result.comparison, sourceLabel, targetLabel));
    const repaired = result.repairs.reduce((sum, r) => sum + r.written + r.removed, 0);
    if (repaired > 0)
      lines.push(`repaired ${repaired.toLocaleString('en-US')} rows in the target, then checked them again`);
    for (const r of result.repairs.flatMap((x) => x.refused))
      lines.push(`refused by the target: ${r.table} ${r.key}: ${r.error}`);
    for (const d of result.remaining.slice(0, 20)) lines.push(`still different: ${describeDifference(d)}`);
    lines.push(
      result.verified
        ? `verified: the target equals the source (${duration(result.seconds)} in total)`
        : `NOT verified: ${result.remaining.length} rows still differ` +
            (live ? ' (the source is live: switch maintenance mode on and run migrate again)' : ''),
    );
  }
  return lines.join('\n');
}
