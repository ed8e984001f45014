import {
  DISCORD_EPOCH,
  PARLEY_EPOCH,
  SnowflakeGenerator,
  setSnowflakeEpoch,
  snowflakeEpoch,
  snowflakeTicks,
  compareSnowflakes,
  isSnowflake,
  snowflakeAt,
  snowflakeTime,
} from './snowflake';

describe('SnowflakeGenerator', () => {
  it('encodes the time and stays within signed 64 bits', () => {
    const now = Date.UTC(2026, 10, 23);
    const id = new SnowflakeGenerator(7, 127, () => now).next();
    expect(snowflakeTime(id)).toBe(now);
    expect(BigInt(id) < 1n << 63n).toBe(true);
    expect(BigInt(id) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true); // ids need bigint-safe handling everywhere
  });

  it('is strictly increasing within one millisecond and across a backwards clock step', () => {
    let t = PARLEY_EPOCH + 1000;
    const gen = new SnowflakeGenerator(0, 1, () => t);
    const ids: string[] = [];
    for (let i = 0; i < 5000; i++) ids.push(gen.next()); // more than 4096: spills into the next ms
    t -= 500;
    ids.push(gen.next());
    for (let i = 1; i < ids.length; i++) expect(compareSnowflakes(ids[i - 1], ids[i])).toBeLessThan(0);
  });

  it('never collides across regions and nodes minting in the same millisecond', () => {
    const t = PARLEY_EPOCH + 42;
    const seen = new Set<string>();
    for (let region = 0; region < 8; region++) {
      for (const node of [0, 1, 127]) {
        const gen = new SnowflakeGenerator(region, node, () => t);
        for (let i = 0; i < 10; i++) seen.add(gen.next());
      }
    }
    expect(seen.size).toBe(8 * 3 * 10);
  });

  it('refuses to mint (503) while held, and mints again once the hold lifts', () => {
    const gen = new SnowflakeGenerator(0, 1);
    let reason: string | null = 'lease overdue';
    gen.holdWhile(() => reason);
    expect(() => gen.next()).toThrow(expect.objectContaining({ status: 503, message: 'lease overdue' }));
    reason = null;
    expect(isSnowflake(gen.next())).toBe(true);
  });

  it('rejects worker ids outside their bits', () => {
    expect(() => new SnowflakeGenerator(8, 0)).toThrow(RangeError);
    expect(() => new SnowflakeGenerator(0, 128)).toThrow(RangeError);
    expect(() => new SnowflakeGenerator(-1, 0)).toThrow(RangeError);
  });

  it('validates and orders snowflake strings numerically', () => {
    expect(isSnowflake('123')).toBe(true);
    expect(isSnowflake('9223372036854775807')).toBe(true);
    expect(isSnowflake('9223372036854775808')).toBe(false);
    expect(isSnowflake('12a')).toBe(false);
    expect(isSnowflake(123)).toBe(false);
    expect(isSnowflake('0123')).toBe(false);
    expect(isSnowflake('00')).toBe(false);
    expect(isSnowflake('0')).toBe(true);
    expect(isSnowflake('')).toBe(false);
    expect(compareSnowflakes('99', '100')).toBeLessThan(0);
    expect(snowflakeTime(snowflakeAt(PARLEY_EPOCH + 5))).toBe(PARLEY_EPOCH + 5);
  });

  it("counts from Discord's epoch unless the instance recorded Parley's first one", () => {
    expect(snowflakeEpoch()).toBe(DISCORD_EPOCH);
    const at = Date.UTC(2026, 11, 6, 9);
    const id = new SnowflakeGenerator(1, 2, () => at).next();
    // Discord's layout: the time since 2015-01-01 above bit 22, as Discord libraries decode it.
    expect(Number(BigInt(id) >> 22n) + DISCORD_EPOCH).toBe(at);
    setSnowflakeEpoch(PARLEY_EPOCH);
    try {
      const old = new SnowflakeGenerator(1, 2, () => at).next();
      expect(snowflakeTime(old)).toBe(at);
      expect(snowflakeTicks(old)).toBe(at - PARLEY_EPOCH);
      expect(BigInt(old) < BigInt(id)).toBe(true);
    } finally {
      setSnowflakeEpoch(DISCORD_EPOCH);
    }
    expect(() => setSnowflakeEpoch(Date.now() + 60_000)).toThrow(RangeError);
  });
});
