import { snowflakeTicks } from '@parley/common';
import { MAX_INDEXED_TOKEN, type SearchTerm } from '../contract';

/**
 * Prefixes of PREFIX_INDEXED_MIN..PREFIX_INDEXED_MAX characters are indexed. Each prefix is one more SAI
 * entry written with every word of every message, so the range is kept short (it was 2..10 before 0010:
 * about 5 entries per word, half the send's cost). A prefix query longer than the range uses its first
 * PREFIX_INDEXED_MAX characters and the exact check on the posting's tokens; shorter ones are refused by the
 * service (SEARCH_PREFIX_MIN).
 */
export const PREFIX_INDEXED_MIN = 3;
export const PREFIX_INDEXED_MAX = 6;

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

/**
 * What a posting's `terms` set holds for a message's tokens: every distinct token (cut at
 * MAX_INDEXED_TOKEN), and each token's prefixes `pre*`, `pref*`, ... up to PREFIX_INDEXED_MAX characters (the
 * token itself included when short enough, so `hello*` matches "hello"). No tokens: undefined (no cell).
 */
export function searchTermsOf(tokens: readonly string[]): string[] | undefined {
  const entries = new Set<string>();
  for (const token of tokens) {
    entries.add(indexedToken(token));
    const longest = Math.min(token.length, PREFIX_INDEXED_MAX);
    for (let n = PREFIX_INDEXED_MIN; n <= longest; n++) entries.add(`${token.slice(0, n)}*`);
  }
  return entries.size === 0 ? undefined : [...entries];
}

/**
 * The index entries a query's terms require (all of them, AND): every whole token, and for a prefix of
 * indexed length its prefix entry (a longer one its first PREFIX_INDEXED_MAX characters). `exact` says the
 * entries alone decide the match: no phrase (word order is not indexed), no prefix outside the indexed
 * range, no token cut at MAX_INDEXED_TOKEN. Otherwise the driver checks the posting's token sequence.
 */
export function requiredEntries(terms: readonly SearchTerm[]): { entries: string[]; exact: boolean } {
  const entries = new Set<string>();
  let exact = true;
  for (const { tokens, prefix } of terms) {
    if (tokens.length > 1) exact = false;
    tokens.forEach((token, i) => {
      if (token.length > MAX_INDEXED_TOKEN) exact = false;
      if (prefix && i === tokens.length - 1) {
        if (token.length > PREFIX_INDEXED_MAX || token.length < PREFIX_INDEXED_MIN) exact = false;
        if (token.length >= PREFIX_INDEXED_MIN) entries.add(`${token.slice(0, PREFIX_INDEXED_MAX)}*`);
      } else entries.add(indexedToken(token));
    });
  }
  return { entries: [...entries], exact };
}
