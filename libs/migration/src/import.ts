import { performance } from 'node:perf_hooks';
import { PARLEY_EPOCH } from '@parley/common';
import { BULK_TABLES, adoptEpoch, type BulkRecords, type BulkStorage, type BulkTable } from '@parley/storage';
import { recordKey } from './canonical';
import { parseHeader, parseLine, type ExportHeader } from './format';
import { readLines } from './ndjson';

export interface ImportProblem {
  line: number;
  message: string;
}

export interface ImportOptions {
  /** Apply the valid records even when some lines are bad (the bad ones are still reported). */
  skipInvalid?: boolean;
  batchSize?: number;
  /** Each problem as it is found (the result lists them all too). */
  onProblem?: (problem: ImportProblem) => void;
  onTable?: (table: BulkTable) => void;
}

export interface ImportResult {
  header: ExportHeader | null;
  /** Valid record lines per table. */
  records: Partial<Record<BulkTable, number>>;
  /** Records written into the target. */
  applied: number;
  problems: ImportProblem[];
  seconds: number;
}

/**
 * Imports an export file in two passes. The first validates every line (JSON, table, each field of the
 * record, the end line and its counts) without writing anything; the second writes the valid records in
 * batches as idempotent upserts. Unless `skipInvalid`, a file with any bad line writes nothing at all.
 * A record is the unit of atomicity: it is written whole or not at all (one transaction savepoint per
 * record on SQLite, one logged batch per multi-table record on Cassandra), and one the target refuses
 * (a username held by another user, say) is reported with its line number. Importing the same file again
 * changes nothing.
 */
export async function importFrom(
  target: BulkStorage,
  path: string,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const started = performance.now();
  const problems: ImportProblem[] = [];
  const report = (line: number, message: string) => {
    const problem = { line, message };
    problems.push(problem);
    options.onProblem?.(problem);
  };
  const result: ImportResult = { header: null, records: {}, applied: 0, problems, seconds: 0 };
  const bad = new Set<number>();

  // Pass 1: validate everything, write nothing.
  let endLine = 0;
  let lastLine = 0;
  const seen: Partial<Record<BulkTable, number>> = {};
  for await (const { number, text } of readLines(path)) {
    lastLine = number;
    if (number === 1) {
      const parsed = parseHeader(text);
      if ('problem' in parsed) {
        report(1, parsed.problem);
        return finish(result, started);
      }
      result.header = parsed.header;
      continue;
    }
    if (endLine > 0) {
      report(number, `a line after the end line (line ${endLine})`);
      bad.add(number);
      continue;
    }
    if (text.trim() === '') {
      report(number, 'an empty line');
      bad.add(number);
      continue;
    }
    const parsed = parseLine(text);
    if (parsed.kind === 'end') {
      endLine = number;
      for (const table of BULK_TABLES) {
        const expected = parsed.counts[table] ?? 0;
        const found = seen[table] ?? 0;
        if (expected !== found)
          report(number, `the end line counts ${expected} ${table} records, the file holds ${found} of them`);
      }
      continue;
    }
    if (parsed.table) seen[parsed.table] = (seen[parsed.table] ?? 0) + 1;
    if (parsed.kind === 'invalid') {
      report(number, parsed.problem);
      bad.add(number);
      continue;
    }
    result.records[parsed.table] = (result.records[parsed.table] ?? 0) + 1;
  }
  if (lastLine === 0) report(1, 'the file is empty');
  else if (endLine === 0) report(lastLine + 1, 'the file ends without its end line: it is truncated');
  if (problems.length > 0 && !options.skipInvalid) return finish(result, started);
  if (lastLine === 0 || result.header === null) return finish(result, started);

  // The ids keep the file's epoch (older files: Parley's first); the target records it before any write.
  await adoptEpoch(target, result.header.snowflake_epoch ?? PARLEY_EPOCH);

  // Pass 2: write the valid records, batched per table in file order.
  const batchSize = options.batchSize ?? 1000;
  let table: BulkTable | null = null;
  let lines: number[] = [];
  let records: BulkRecords[BulkTable][] = [];
  const flush = async () => {
    if (table === null || records.length === 0) return;
    const [t, ls, rs] = [table, lines, records];
    [lines, records] = [[], []];
    const failures = await target.write(t, rs, { overwrite: true });
    for (const f of failures)
      report(ls[f.index], `${t} ${recordKey(t, rs[f.index])} refused by the target: ${f.error.message}`);
    result.applied += rs.length - failures.length;
  };
  for await (const { number, text } of readLines(path)) {
    if (number === 1 || bad.has(number) || (endLine > 0 && number >= endLine)) continue;
    const parsed = parseLine(text);
    if (parsed.kind !== 'record') continue;
    if (table !== parsed.table) {
      await flush();
      table = parsed.table;
      options.onTable?.(table);
    }
    lines.push(number);
    records.push(parsed.record);
    if (records.length >= batchSize) await flush();
  }
  await flush();
  problems.sort((a, b) => a.line - b.line);
  return finish(result, started);
}

function finish(result: ImportResult, started: number): ImportResult {
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
