import { ServiceUnavailableError } from './errors';

/**
 * 63-bit snowflakes (the sign bit stays 0 so ids fit signed 64-bit columns in SQLite and Cassandra):
 * 41 bits of milliseconds since the instance's epoch, 3 bits region, 7 bits node, 12 bits sequence (the time
 * sits above bit 22, where Discord's does, so Discord libraries decode the time of an id).
 * Region and node bits make ids from different processes and regions disjoint by construction.
 *
 * The epoch is the instance's, recorded in its database when it was created (instance setting
 * `snowflake_epoch`, see docs/discord-compatibility.md): Discord's (2015-01-01) for instances created since
 * issue 21, Parley's first epoch (2024-01-01) for older ones, whose ids must keep decoding to the same times.
 * A process sets it once at startup, before it mints or decodes an id (setSnowflakeEpoch).
 */
export const DISCORD_EPOCH = 1_420_070_400_000; // 2015-01-01T00:00:00Z
/** The epoch of instances created before Discord's was adopted. */
export const PARLEY_EPOCH = 1_704_067_200_000; // 2024-01-01T00:00:00Z

let epoch = DISCORD_EPOCH;

/** The instance's epoch (what ids count milliseconds from) in this process. */
export function snowflakeEpoch(): number {
  return epoch;
}

/** Sets this process's epoch: once at startup, from the database's `snowflake_epoch` (or an export's header). */
export function setSnowflakeEpoch(ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > Date.now()) throw new RangeError(`not an epoch: ${ms}`);
  epoch = ms;
}
const REGION_BITS = 3n;
const NODE_BITS = 7n;
const SEQUENCE_BITS = 12n;
const MAX_SEQUENCE = (1 << Number(SEQUENCE_BITS)) - 1;
const TIME_SHIFT = REGION_BITS + NODE_BITS + SEQUENCE_BITS;

export class SnowflakeGenerator {
  private lastMs = -1;
  private sequence = 0;
  private readonly worker: bigint;
  private hold: (() => string | null) | null = null;

  constructor(
    regionId: number,
    nodeId: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(regionId) || regionId < 0 || regionId > 7)
      throw new RangeError('region id must be 0-7');
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > 127)
      throw new RangeError('node id must be 0-127');
    this.worker = ((BigInt(regionId) << NODE_BITS) | BigInt(nodeId)) << SEQUENCE_BITS;
  }

  /**
   * Refuses to mint (503) while `reason` returns one: a node id leased in Redis whose renewal is overdue may
   * already belong to another process.
   */
  holdWhile(reason: () => string | null): void {
    this.hold = reason;
  }

  next(): string {
    const held = this.hold?.();
    if (held) throw new ServiceUnavailableError(held);
    let ms = this.now();
    if (ms < this.lastMs) ms = this.lastMs; // clock stepped back: stay monotonic
    if (ms === this.lastMs) {
      this.sequence = (this.sequence + 1) & MAX_SEQUENCE;
      if (this.sequence === 0) ms = this.lastMs + 1; // 4096 ids in one ms: borrow the next ms
    } else {
      this.sequence = 0;
    }
    this.lastMs = ms;
    return ((BigInt(ms - epoch) << TIME_SHIFT) | this.worker | BigInt(this.sequence)).toString();
  }
}

export function snowflakeTime(id: string): number {
  return snowflakeTicks(id) + epoch;
}

/** Milliseconds from the epoch to the id's time: what storage layouts count in (independent of the epoch). */
export function snowflakeTicks(id: string): number {
  return Number(BigInt(id) >> TIME_SHIFT);
}

/** The smallest id that could have been minted at `ms`: for time-based range queries. */
export function snowflakeAt(ms: number): string {
  return (BigInt(Math.max(0, ms - epoch)) << TIME_SHIFT).toString();
}

// Canonical form only: "0" or no leading zero. "0<id>" names the same number but would key caches and
// event scopes apart from the stored record's id.
const SNOWFLAKE = /^(?:0|[1-9][0-9]{0,18})$/;
const MAX_ID = (1n << 63n) - 1n;

/** A snowflake in its one canonical decimal form, within the signed 64-bit range. */
export function isSnowflake(value: unknown): value is string {
  return typeof value === 'string' && SNOWFLAKE.test(value) && BigInt(value) <= MAX_ID;
}

export function compareSnowflakes(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
