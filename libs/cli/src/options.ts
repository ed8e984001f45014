import { parseArgs } from 'node:util';
import { UsageError } from '@parley/migration';

/** A numeric flag: absent means the fallback, anything but a positive integer is a usage error (exit 64). */
export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a positive integer, not "${value}"`);
  return n;
}

/** Strict flag parsing: an unknown flag or one positional too many is a usage error, never ignored. */
export function options<T extends Record<string, { type: 'string' | 'boolean' }>>(
  args: string[],
  spec: T,
  positionals = 0,
) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: spec, strict: true, allowPositionals: positionals > 0 });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (parsed.positionals.length > positionals)
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
  return parsed;
}
