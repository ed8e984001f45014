import { PARLEY_EPOCH, snowflakeTime } from '@parley/common';

/** Width of one message partition in time: Discord's 10 days keeps busy channels well under 100 MB. */
export const BUCKET_MS = 10 * 24 * 60 * 60 * 1000;

/** The message partition (bucket) a snowflake falls in: whole 10-day windows since PARLEY_EPOCH. */
export function bucketOf(messageId: string): number {
  return Math.floor((snowflakeTime(messageId) - PARLEY_EPOCH) / BUCKET_MS);
}

/** The bucket holding time `ms` (for tests and tools that think in dates). */
export function bucketAt(ms: number): number {
  return Math.floor((ms - PARLEY_EPOCH) / BUCKET_MS);
}
