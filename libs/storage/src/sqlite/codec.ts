/**
 * The driver edge: snowflake strings become 64-bit integers on the way in and come back as bigint
 * (every connection runs with safe integers), so ids above 2^53 never pass through a JS number.
 */
export type Param = bigint | number | string | null;

export const toId = (id: string): bigint => BigInt(id);
export const toIdOrNull = (id: string | null): bigint | null => (id === null ? null : BigInt(id));
export const fromId = (value: bigint): string => value.toString();
export const fromIdOrNull = (value: bigint | null): string | null =>
  value === null ? null : value.toString();
/** Times, counts and small enums: always well inside 2^53. */
export const toNumber = (value: bigint): number => Number(value);
export const toNumberOrNull = (value: bigint | null): number | null =>
  value === null ? null : Number(value);
export const toFlag = (value: boolean): number => (value ? 1 : 0);

/** SQLite reads a negative LIMIT as "no limit"; a bad limit must never turn a page into a full read. */
export const toLimit = (limit: number): number =>
  Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : 0;

/** Lower bound for ascending pages without `after`: snowflakes are never negative. */
export const pageStart = (after: string | undefined): bigint => (after === undefined ? -1n : BigInt(after));

export const compareIds = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

/** JSON arrays of ids are stored as arrays of strings so JSON.parse never rounds them. */
export const parseIds = (json: string): string[] => JSON.parse(json) as string[];

/**
 * One UPDATE statement serves every combination of patched fields: each column is written as
 * `col = iif(@set_col, @col, col)`, so the statement is prepared once instead of once per shape.
 */
export function patchSet(columns: readonly string[]): string {
  return columns.map((c) => `${c} = iif(@set_${c}, @${c}, ${c})`).join(', ');
}

/** Binds a patch for `patchSet`; `undefined` leaves the column alone, `null` clears it. */
export function patchParams(values: Record<string, Param | undefined>): Record<string, Param> {
  const params: Record<string, Param> = {};
  for (const [column, value] of Object.entries(values)) {
    params[`set_${column}`] = value === undefined ? 0 : 1;
    params[column] = value ?? null;
  }
  return params;
}
