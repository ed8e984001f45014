import { performance } from 'node:perf_hooks';
import {
  epochOf,
  BULK_TABLES,
  type BulkRecords,
  type BulkStorage,
  type BulkTable,
  type ScanPage,
} from '@parley/storage';
import { formatEnd, formatHeader, formatRecord } from './format';
import { LineWriter } from './ndjson';
import type { ProgressSink } from './progress';

export interface ExportOptions {
  batchSize?: number;
  progress?: ProgressSink;
}

export interface ExportResult {
  counts: Record<BulkTable, number>;
  seconds: number;
}

/**
 * Writes every table to an NDJSON file (see format.ts). On SQLite the whole export reads one snapshot
 * (a single read transaction), so it is consistent even while the instance serves; on Cassandra put the
 * instance in maintenance mode first for a consistent copy.
 */
export async function exportTo(
  source: BulkStorage & { consistentRead?<T>(work: () => Promise<T>): Promise<T> },
  path: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const started = performance.now();
  const out = new LineWriter(path);
  const counts = Object.fromEntries(BULK_TABLES.map((t) => [t, 0])) as Record<BulkTable, number>;
  const work = async () => {
    const epoch = await epochOf({ settings: source.settings, bulk: source });
    await out.write(formatHeader(source.backend, BULK_TABLES, new Date(), epoch));
    for (const table of BULK_TABLES) {
      options.progress?.start(table, await source.count(table), 0);
      const tableStarted = performance.now();
      let cursor: string | null = null;
      do {
        const page: ScanPage<BulkRecords[BulkTable]> = await source.scan(
          table,
          cursor,
          options.batchSize ?? 2000,
        );
        for (const record of page.records) await out.write(formatRecord(table, record));
        counts[table] += page.records.length;
        options.progress?.advance(table, page.records.length);
        cursor = page.cursor;
      } while (cursor !== null);
      options.progress?.finish(table, counts[table], (performance.now() - tableStarted) / 1000);
    }
    await out.write(formatEnd(counts));
  };
  try {
    await (source.consistentRead ? source.consistentRead(work) : work());
    await out.close();
  } catch (err) {
    out.abort();
    throw err;
  }
  return { counts, seconds: (performance.now() - started) / 1000 };
}
