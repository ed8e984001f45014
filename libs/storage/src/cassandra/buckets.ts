import { snowflakeEpoch, snowflakeTicks } from '@parley/common';

/** Width of one message partition in time: Discord's 10 days keeps busy channels well under 100 MB. */
export const BUCKET_MS = 10 * 24 * 60 * 60 * 1000;

/**
 * The message partition (bucket) a snowflake falls in: whole 10-day windows since the instance's epoch, counted
 * from the id's bits alone, so a row's bucket never depends on which epoch a process believes in.
 */
export function bucketOf(messageId: string): number {
  return Math.floor(snowflakeTicks(messageId) / BUCKET_MS);
}

/** The bucket holding time `ms` (for tests and tools that think in dates). */
export function bucketAt(ms: number): number {
  return Math.floor((ms - snowflakeEpoch()) / BUCKET_MS);
}
