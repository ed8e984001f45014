import type { ChannelDto, MessageDto, PublicUser } from '@parley/common/protocol';

/**
 * The instance's snowflake epoch (READY's `snowflake_epoch`): Discord's 2015-01-01 on instances created since
 * issue 21, 2024-01-01 on older ones (libs/common snowflake.ts).
 */
let EPOCH = 1_420_070_400_000n;

export function setSnowflakeEpoch(ms: number): void {
  EPOCH = BigInt(ms);
}

export type SearchHas = 'link' | 'file' | 'image' | 'embed';
const HAS = new Set<string>(['link', 'file', 'image', 'embed']);

/** What the search box understood: the query string for the API, and the filters it could not resolve. */
export interface ParsedSearch {
  params: URLSearchParams;
  /** Filters that name nobody/nothing known (shown to the user instead of silently searching everything). */
  unknown: string[];
  empty: boolean;
}

/** The smallest snowflake at a time: ids above it are newer. */
export function snowflakeAt(ms: number): string {
  const since = BigInt(Math.max(0, Math.floor(ms))) - EPOCH;
  return (since > 0n ? since << 22n : 0n).toString();
}

function day(value: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return null;
  const ms = Date.parse(`${value}T00:00:00`);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Turns a search box into API parameters. Filters: `from:name`, `mentions:name`, `in:channel`,
 * `has:link|file|image|embed`, `before:YYYY-MM-DD`, `after:YYYY-MM-DD` (local days, as Discord's client);
 * everything else, quotes and `prefix*` included, is the content.
 */
export function parseSearch(
  text: string,
  people: readonly Pick<PublicUser, 'id' | 'username'>[],
  channels: readonly Pick<ChannelDto, 'id' | 'name'>[],
): ParsedSearch {
  const params = new URLSearchParams();
  const unknown: string[] = [];
  const content: string[] = [];
  const user = (name: string) => people.find((p) => p.username.toLowerCase() === name.toLowerCase());
  for (const part of text.match(/"[^"]*"?|\S+/g) ?? []) {
    const filter = /^(from|mentions|in|has|before|after):(.+)$/i.exec(part);
    if (!filter) {
      content.push(part);
      continue;
    }
    const [, key, raw] = filter;
    const value = raw.replace(/^[@#]/, '');
    switch (key.toLowerCase()) {
      case 'from':
      case 'mentions': {
        const found = user(value);
        if (found) params.append(key.toLowerCase() === 'from' ? 'author_id' : 'mentions', found.id);
        else unknown.push(part);
        break;
      }
      case 'in': {
        const found = channels.find((c) => (c.name ?? '').toLowerCase() === value.toLowerCase());
        if (found) params.append('channel_id', found.id);
        else unknown.push(part);
        break;
      }
      case 'has':
        if (HAS.has(value.toLowerCase())) params.append('has', value.toLowerCase());
        else unknown.push(part);
        break;
      case 'before':
      case 'after': {
        const ms = day(value);
        if (ms === null) unknown.push(part);
        else if (key.toLowerCase() === 'before') params.set('max_id', snowflakeAt(ms));
        else params.set('min_id', snowflakeAt(ms + 24 * 3600_000 - 1)); // after the whole day
        break;
      }
    }
  }
  const words = content.join(' ').trim();
  if (words) params.set('content', words);
  return { params, unknown, empty: [...params.keys()].length === 0 };
}

export interface SearchResults {
  total_results: number;
  messages: MessageDto[][];
}
