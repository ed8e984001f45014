import { snowflakeTicks } from '@parley/common';
import { MAX_INDEXED_TOKEN, type SearchTerm } from '../contract';

/**
 * Prefixes of PREFIX_INDEXED_MIN..PREFIX_INDEXED_MAX characters are indexed. Each prefix is one more SAI
 * entry written with every word of every message, so the range is short (2..10 before 0010, 3..6 before
 * 0048): a prefix query longer than the range uses its first PREFIX_INDEXED_MAX characters and the exact
 * check on the posting's tokens; shorter ones are refused by the service (SEARCH_PREFIX_MIN).
 */
export const PREFIX_INDEXED_MIN = 3;
export const PREFIX_INDEXED_MAX = 4;

/**
 * Width of one postings partition in time: 10 days of one guild, like the message partitions (10 days of one
 * channel). Each day-sized partition would cost a search one SAI read more: a rare word is looked up in every
 * partition of the guild's history (measured: 90 one-day reads took ~5x longer than 9 ten-day ones). A
 * posting is ~450 bytes (terms, tokens, ids), so a partition reaches 100 MB at ~220,000 messages in 10 days
 * in one guild; the bench's 1,000,000 messages over 90 days make ~50 MB partitions.
 */
export const SEARCH_BUCKET_MS = 10 * 24 * 60 * 60 * 1000;

/** The postings partition a snowflake falls in. */
export function searchBucketOf(messageId: string): number {
  // From the id's bits alone (10-day windows since the instance's epoch), like the message buckets.
  return Math.floor(snowflakeTicks(messageId) / SEARCH_BUCKET_MS);
}

const indexedToken = (token: string): string => token.slice(0, MAX_INDEXED_TOKEN);

/** The entry of two consecutive tokens: a space never occurs inside a token. */
const pairEntry = (first: string, second: string): string => `${indexedToken(first)} ${indexedToken(second)}`;

/**
 * The entry naming the message's channel (since 0048, in place of an SAI index of its own on `channel_id`):
 * `#` never occurs in a token, so no word, prefix (`...*`) or pair (`a b`) can equal it.
 */
export const channelEntry = (channelId: string): string => `#${channelId}`;

/**
 * What a posting's `terms` set holds (migration 0048): the channel's entry; every distinct token (cut at
 * MAX_INDEXED_TOKEN); each token's prefixes `pre*` and `pref*` (PREFIX_INDEXED_MIN..MAX characters, the token
 * itself included when short enough, so `pre*` matches "pre"); and each pair of consecutive tokens `a b`, so a
 * two-word phrase is decided by the index alone.
 */
export function searchTermsOf(tokens: readonly string[], channelId: string): string[] {
  const entries = new Set<string>([channelEntry(channelId)]);
  tokens.forEach((token, i) => {
    entries.add(indexedToken(token));
    const longest = Math.min(token.length, PREFIX_INDEXED_MAX);
    for (let n = PREFIX_INDEXED_MIN; n <= longest; n++) entries.add(`${token.slice(0, n)}*`);
    if (i > 0) entries.add(pairEntry(tokens[i - 1], token));
  });
  return [...entries];
}

/**
 * The index entries a query's terms require (all of them, AND): a word's token; a phrase's pairs of
 * consecutive whole tokens (a single whole token before a trailing prefix: that token); for a prefix of at
 * least PREFIX_INDEXED_MIN characters its prefix entry (a longer one its first PREFIX_INDEXED_MAX). `exact`
 * says the entries alone decide the match: words, two-word phrases, prefixes of indexed length, no token cut
 * at MAX_INDEXED_TOKEN. Otherwise (longer phrases, phrases ending in a prefix, longer prefixes) the driver
 * checks the posting's token sequence.
 */
export function requiredEntries(terms: readonly SearchTerm[]): { entries: string[]; exact: boolean } {
  const entries = new Set<string>();
  let exact = true;
  for (const { tokens, prefix } of terms) {
    if (tokens.length === 0) continue; // the service drops such terms; nothing to require
    if (tokens.some((token) => token.length > MAX_INDEXED_TOKEN)) exact = false;
    const whole = prefix ? tokens.slice(0, -1) : tokens;
    if (whole.length === 1) entries.add(indexedToken(whole[0]));
    for (let i = 1; i < whole.length; i++) entries.add(pairEntry(whole[i - 1], whole[i]));
    if (whole.length > 2) exact = false;
    if (prefix) {
      const last = tokens[tokens.length - 1];
      if (whole.length > 0) exact = false; // the pair of the last whole token and the prefix is not indexed
      if (last.length > PREFIX_INDEXED_MAX || last.length < PREFIX_INDEXED_MIN) exact = false;
      if (last.length >= PREFIX_INDEXED_MIN) entries.add(`${last.slice(0, PREFIX_INDEXED_MAX)}*`);
    }
  }
  return { entries: [...entries], exact };
}
