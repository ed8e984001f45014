import { ValidationError } from '@parley/common';
import { type SearchTerm, searchTokens } from '@parley/storage';

/** Longest `content` accepted, in characters (Discord's own search box stops well before). */
export const SEARCH_CONTENT_MAX = 512;
/** Most terms (words, "phrases", prefix*) in one query. */
export const SEARCH_TERMS_MAX = 10;
/** Most tokens across all terms (a phrase counts each of its words). */
export const SEARCH_TOKENS_MAX = 24;
/**
 * A prefix needs this many characters: shorter ones would match most of a guild, and the Cassandra driver
 * indexes prefixes from this length (libs/storage/src/cassandra/search-terms.ts PREFIX_INDEXED_MIN).
 */
export const SEARCH_PREFIX_MIN = 3;

// A quoted phrase (the closing quote may be missing at the end), or a run of non-space characters.
const PART = /"([^"]*)"?|(\S+)/gu;

function invalid(message: string): ValidationError {
  return new ValidationError({ content: [{ code: 'BASE_TYPE_INVALID', message }] });
}

/**
 * Splits a search box's `content` into terms: `"a phrase"` (its words in order), `prefix*`, and plain
 * words. Each is tokenized as messages are (searchTokens), so punctuation inside a word makes it a
 * phrase of its parts (`quick-thinking`). Text without letters or digits adds nothing.
 */
export function parseSearchContent(content: string): SearchTerm[] {
  if (content.length > SEARCH_CONTENT_MAX)
    throw invalid(`Search content must be at most ${SEARCH_CONTENT_MAX} characters`);
  const terms: SearchTerm[] = [];
  for (const match of content.matchAll(PART)) {
    const [, phrase, word] = match;
    const prefix = word !== undefined && word.endsWith('*');
    const tokens = searchTokens(phrase ?? word ?? '');
    if (tokens.length === 0) continue;
    if (prefix && tokens[tokens.length - 1].length < SEARCH_PREFIX_MIN)
      throw invalid(`A prefix search needs at least ${SEARCH_PREFIX_MIN} letters or digits before the *`);
    terms.push({ tokens, prefix });
  }
  if (terms.length > SEARCH_TERMS_MAX) throw invalid(`Search at most ${SEARCH_TERMS_MAX} terms at once`);
  if (terms.reduce((n, t) => n + t.tokens.length, 0) > SEARCH_TOKENS_MAX)
    throw invalid(`Search at most ${SEARCH_TOKENS_MAX} words at once`);
  return terms;
}
