import { MAX_INDEXED_TOKEN, type SearchTerm, searchTokens } from '../contract';

/** Prefixes of 2..PREFIX_INDEXED_MAX characters are indexed; a longer prefix query uses its first 10. */
export const PREFIX_INDEXED_MAX = 10;
const PREFIX_INDEXED_MIN = 2;

const indexedToken = (token: string): string => token.slice(0, MAX_INDEXED_TOKEN);
const prefixEntry = (token: string): string => `${token.slice(0, PREFIX_INDEXED_MAX)}*`;

/**
 * What the `search_terms` column holds for a content: every distinct token (cut at MAX_INDEXED_TOKEN), and
 * each token's prefixes `pr*`, `pre*`, ... up to PREFIX_INDEXED_MAX characters (the token itself included
 * when short enough, so `hello*` matches "hello"). An empty content stores nothing (undefined: no cell).
 */
export function searchTermsOf(content: string): string[] | undefined {
  const entries = new Set<string>();
  for (const token of searchTokens(content)) {
    entries.add(indexedToken(token));
    const longest = Math.min(token.length, PREFIX_INDEXED_MAX);
    for (let n = PREFIX_INDEXED_MIN; n <= longest; n++) entries.add(`${token.slice(0, n)}*`);
  }
  return entries.size === 0 ? undefined : [...entries];
}

/**
 * The index entries a query's terms require (all of them, AND): every whole token, and for a prefix the
 * prefix entry. A one-character prefix has no entry (the service refuses it) and adds no restriction.
 * The exact match (phrases in order, prefixes longer than 10) is the post-filter's.
 */
export function requiredEntries(terms: readonly SearchTerm[]): string[] {
  const entries = new Set<string>();
  for (const { tokens, prefix } of terms) {
    tokens.forEach((token, i) => {
      if (prefix && i === tokens.length - 1) {
        if (token.length >= PREFIX_INDEXED_MIN) entries.add(prefixEntry(token));
      } else entries.add(indexedToken(token));
    });
  }
  return [...entries];
}
