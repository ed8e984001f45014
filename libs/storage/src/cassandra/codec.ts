import type { types } from 'cassandra-driver';

/** Snowflake string -> bigint column value. */
export const toId = (id: string): bigint => BigInt(id);

export const fromId = (value: unknown): string => (value as bigint).toString();
export const fromIdOrNull = (value: unknown): string | null =>
  value === null || value === undefined ? null : (value as bigint).toString();

export const toTime = (ms: number): Date => new Date(ms);
export const fromTime = (value: unknown): number => (value as Date).getTime();
export const fromTimeOrNull = (value: unknown): number | null =>
  value === null || value === undefined ? null : (value as Date).getTime();

export const fromIds = (value: unknown): string[] =>
  value === null || value === undefined ? [] : [...(value as Iterable<bigint>)].map((v) => v.toString());

export const str = (row: types.Row, column: string): string => row.get(column) as string;
export const strOrNull = (row: types.Row, column: string): string | null =>
  (row.get(column) as string | null | undefined) ?? null;
export const int = (row: types.Row, column: string): number => (row.get(column) as number | null) ?? 0;

/** Runs `work` over items with at most `width` in flight; results in input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  width: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** Compares bigint ids for Array.sort. */
export const compareBig = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);
