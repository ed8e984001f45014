import { BULK_TABLES, type BulkRecords, type BulkStorage, type BulkTable } from '@parley/storage';
import type { Difference } from './diff';

const CHUNK = 500;

export interface RepairOutcome {
  written: number;
  removed: number;
  /** Records the target refused (a claim held by another record): named for the operator. */
  refused: { table: BulkTable; key: string; error: string }[];
}

/**
 * Makes the target match the source where a comparison found them apart: source rows that are missing
 * or changed are written again (absent values cleared), target rows the source no longer has are
 * deleted. Writes go parents first (users before members ...), deletions children first.
 */
export async function repair(
  target: BulkStorage,
  differences: readonly Difference[],
): Promise<RepairOutcome> {
  const outcome: RepairOutcome = { written: 0, removed: 0, refused: [] };
  const byTable = (table: BulkTable, extra: boolean) =>
    differences.filter((d) => d.table === table && (d.kind === 'extra') === extra);

  for (const table of BULK_TABLES) {
    const wanted = byTable(table, false);
    for (let i = 0; i < wanted.length; i += CHUNK) {
      const chunk = wanted.slice(i, i + CHUNK);
      const records = chunk.map((d) => d.source as BulkRecords[typeof table]);
      const failures = await target.write(table, records, { overwrite: true });
      for (const f of failures)
        outcome.refused.push({ table, key: chunk[f.index].key, error: f.error.message });
      outcome.written += records.length - failures.length;
    }
  }
  for (const table of [...BULK_TABLES].reverse()) {
    const doomed = byTable(table, true);
    for (let i = 0; i < doomed.length; i += CHUNK) {
      const records = doomed.slice(i, i + CHUNK).map((d) => d.target as BulkRecords[typeof table]);
      await target.remove(table, records);
      outcome.removed += records.length;
    }
  }
  return outcome;
}
