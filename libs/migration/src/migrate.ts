import { performance } from 'node:perf_hooks';
import { adoptEpoch, epochOf, type BulkTable } from '@parley/storage';
import { copyTables, type CopyOptions, type TableCopy } from './copy';
import { compare, recheck, type Comparison, type Difference } from './diff';
import type { Endpoint } from './endpoints';
import { repair, type RepairOutcome } from './repair';

export interface MigrateOptions extends Pick<
  CopyOptions,
  'batchSize' | 'parallel' | 'restart' | 'progress' | 'signal' | 'tables'
> {
  /** Compare source and target after the copy and bring the target in line (default true). */
  verify?: boolean;
  /** Repair-and-recheck rounds before giving up on a source that keeps changing. */
  rounds?: number;
  log?: (line: string) => void;
}

export interface MigrateResult {
  copy: TableCopy[];
  /** The full comparison after the copy (null with verify off). */
  comparison: Comparison | null;
  repairs: RepairOutcome[];
  /** What still differs at the end (empty: the target equals the source). */
  remaining: Difference[];
  verified: boolean;
  seconds: number;
}

/**
 * Copy (streaming, checkpointed, resumable) and then the final verification: every table compared
 * between source and target (counts, digests, per-channel message digests). Rows that differ (the
 * source was written to during the copy, or a previous run was cut short) are written again or deleted
 * in the target, and exactly those places are checked again, until nothing differs. Run it once while
 * the instance serves (the bulk copy), then again in maintenance mode (the final delta, short): the
 * second run skips the copied tables and only compares and repairs.
 */
export async function migrate(
  source: Endpoint,
  target: Endpoint,
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const started = performance.now();
  const log = options.log ?? (() => undefined);
  // The ids keep the source's epoch: the target records it (and this process decodes with it).
  await adoptEpoch(target.bulk, await epochOf({ settings: source.bulk.settings, bulk: source.bulk }));
  const copy = await copyTables({
    ...options,
    source: source.bulk,
    target: target.bulk,
    sourceId: source.id,
  });
  const result: MigrateResult = {
    copy,
    comparison: null,
    repairs: [],
    remaining: [],
    verified: false,
    seconds: 0,
  };
  if (options.verify !== false) {
    log('verifying: comparing every table of the source and the target');
    const comparison = await compare(source.bulk, target.bulk, {
      tables: options.tables as BulkTable[] | undefined,
      listLimit: Infinity,
      onTable: (table) => log(`verify: ${table}`),
    });
    result.comparison = comparison;
    let pending = comparison.differences;
    for (let round = 1; pending.length > 0 && round <= (options.rounds ?? 3); round++) {
      log(`${pending.length} rows differ (changed in the source during the copy): writing them again`);
      const outcome = await repair(target.bulk, pending);
      result.repairs.push(outcome);
      if (outcome.refused.length > 0) break;
      pending = await recheck(source.bulk, target.bulk, pending);
    }
    result.remaining = pending;
    result.verified = pending.length === 0;
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
