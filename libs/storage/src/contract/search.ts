import type { MessageRecord } from './records';

/**
 * Message search: the query both drivers answer, and the one definition of what a term matches. The
 * tokenizer below is the reference: SQLite's FTS5 `unicode61 remove_diacritics 2` splits and folds the same
 * way for every script with separators, and the Cassandra driver stores exactly these tokens in its SAI-indexed
 * `search_terms` column. Text is compatibility-decomposed (NFKD), combining marks dropped, lower-cased, and
 * split on anything that is not a letter or a digit; a run of CJK characters is therefore one token.
 */
export function searchTokens(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((token) => token.length > 0);
}

/** The longest token Cassandra indexes (a longer one is found by its prefix plus the exact post-filter). */
export const MAX_INDEXED_TOKEN = 64;

/**
 * One term of the content query: consecutive tokens (one for a plain word, several for a "phrase" or for
 * a word that tokenizes into several, like `quick-thinking`); with `prefix` the last token only has to start
 * a token of the message (`prefix*`). Every term must match (AND).
 */
export interface SearchTerm {
  tokens: string[];
  prefix: boolean;
}

export type SearchHas = 'link' | 'file' | 'image' | 'embed';

export interface MessageSearchQuery {
  /**
   * The guild all of `channelIds` belong to, or null when they are DMs. The Cassandra driver reads the
   * guild's postings (one partition per day) instead of every channel's; SQLite does not need it.
   */
  guildId: string | null;
  /** The channels to search, already reduced to those the caller may read. Never empty. */
  channelIds: string[];
  terms: SearchTerm[];
  /** Any of these authors (empty: anyone). */
  authorIds: string[];
  /** Mentions any of these users (empty: no filter). */
  mentions: string[];
  /** Has every one of these. */
  has: SearchHas[];
  /** Exclusive id bounds. */
  minId?: string;
  maxId?: string;
  offset: number;
  limit: number;
}

export interface MessageSearchResult {
  /** Matches counted, at most SEARCH_TOTAL_CAP (then "at least that many"). */
  total: number;
  /** Newest first: matches offset .. offset+limit-1. */
  messages: MessageRecord[];
}

/**
 * How many matches a search counts. Counting every hit of a common word is O(hits) on both backends; past
 * this the answer says "at least", and pages reach no deeper (offset + limit <= this).
 */
export const SEARCH_TOTAL_CAP = 1000;

export interface MessageSearchRepository {
  search(query: MessageSearchQuery): Promise<MessageSearchResult>;
}

// The same test as SQLite's `LIKE '%http://_%'` (case-insensitive for ASCII, any character after the slashes).
export const SEARCH_LINK = /https?:\/\/./is;

/** Whether the token sequence holds the term: its tokens consecutive, the last one a prefix for `prefix*`. */
export function containsSequence(haystack: readonly string[], term: SearchTerm): boolean {
  const { tokens, prefix } = term;
  const last = tokens.length - 1;
  outer: for (let i = 0; i + last < haystack.length; i++) {
    for (let j = 0; j <= last; j++) {
      const token = haystack[i + j];
      const wanted = tokens[j];
      if (j === last && prefix ? !token.startsWith(wanted) : token !== wanted) continue outer;
    }
    return true;
  }
  return false;
}

function hasEvery(message: MessageRecord, has: readonly SearchHas[]): boolean {
  return has.every((kind) => {
    switch (kind) {
      case 'link':
        return SEARCH_LINK.test(message.content);
      case 'file':
        return message.attachments.length > 0;
      case 'image':
        return message.attachments.some((a) => a.contentType.startsWith('image/'));
      case 'embed':
        return false; // no message stores embeds yet
    }
  });
}

/**
 * Whether a message matches everything but the channel list: the reference for the contract suite and the
 * Cassandra driver's exact post-filter (its index narrows by whole tokens; phrases, prefixes and the other
 * filters are checked here).
 */
export function matchesSearch(
  message: MessageRecord,
  query: Omit<MessageSearchQuery, 'channelIds' | 'offset' | 'limit'>,
): boolean {
  if (query.minId !== undefined && BigInt(message.id) <= BigInt(query.minId)) return false;
  if (query.maxId !== undefined && BigInt(message.id) >= BigInt(query.maxId)) return false;
  if (query.authorIds.length > 0 && !query.authorIds.includes(message.authorId)) return false;
  if (query.mentions.length > 0 && !message.mentions.some((id) => query.mentions.includes(id))) return false;
  if (!hasEvery(message, query.has)) return false;
  if (query.terms.length === 0) return true;
  return termsMatch(searchTokens(message.content), query.terms);
}

/** Every term (AND) found in a message's token sequence. */
export function termsMatch(tokens: readonly string[], terms: readonly SearchTerm[]): boolean {
  return terms.every((term) => containsSequence(tokens, term));
}
