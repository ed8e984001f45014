import { parseSearch, setSnowflakeEpoch, snowflakeAt } from './search';

const people = [
  { id: '11', username: 'Alice' },
  { id: '12', username: 'bob' },
];
const channels = [
  { id: '21', name: 'general' },
  { id: '22', name: 'random' },
];

describe('search box parsing', () => {
  it('keeps words, phrases and prefixes as the content', () => {
    const { params, unknown, empty } = parseSearch('"brown fox" quick* lantern', people, channels);
    expect(params.get('content')).toBe('"brown fox" quick* lantern');
    expect(unknown).toEqual([]);
    expect(empty).toBe(false);
  });

  it('turns filters into parameters, names case-insensitively', () => {
    const { params } = parseSearch(
      'from:alice mentions:@BOB in:#random has:link has:image fox',
      people,
      channels,
    );
    expect(params.getAll('author_id')).toEqual(['11']);
    expect(params.getAll('mentions')).toEqual(['12']);
    expect(params.getAll('channel_id')).toEqual(['22']);
    expect(params.getAll('has')).toEqual(['link', 'image']);
    expect(params.get('content')).toBe('fox');
  });

  it('dates become id bounds: before a day, after a day', () => {
    const { params } = parseSearch('before:2025-03-02 after:2025-03-01', people, channels);
    const start = Date.parse('2025-03-02T00:00:00');
    expect(params.get('max_id')).toBe(snowflakeAt(start));
    expect(BigInt(params.get('min_id') ?? '0')).toBeLessThan(BigInt(snowflakeAt(start)));
    expect(BigInt(params.get('min_id') ?? '0')).toBeGreaterThan(BigInt(snowflakeAt(start - 3600_000)));
  });

  it('reports filters it cannot resolve instead of dropping them', () => {
    const { unknown, params } = parseSearch(
      'from:nobody in:nowhere has:video before:yesterday x',
      people,
      channels,
    );
    expect(unknown).toEqual(['from:nobody', 'in:nowhere', 'has:video', 'before:yesterday']);
    expect(params.get('content')).toBe('x');
  });

  it("snowflakes encode time since the instance's epoch: Discord's, or 2024-01-01 on older instances", () => {
    expect(snowflakeAt(1_420_070_400_000 + 1)).toBe((1n << 22n).toString());
    expect(snowflakeAt(0)).toBe('0');
    setSnowflakeEpoch(1_704_067_200_000);
    try {
      expect(snowflakeAt(1_704_067_200_000 + 1)).toBe((1n << 22n).toString());
    } finally {
      setSnowflakeEpoch(1_420_070_400_000);
    }
  });
});
