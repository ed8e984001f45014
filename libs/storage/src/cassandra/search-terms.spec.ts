import { searchTokens } from '../contract';
import {
  PREFIX_INDEXED_MAX,
  PREFIX_INDEXED_MIN,
  channelEntry,
  requiredEntries,
  searchTermsOf,
} from './search-terms';

const term = (text: string, prefix = false) => ({ tokens: searchTokens(text), prefix });

describe('search terms (Cassandra postings)', () => {
  it('indexes the channel, each token, its prefixes within the indexed range and each pair of tokens', () => {
    const terms = searchTermsOf(searchTokens('Quick ox extraordinarily'), '42');
    expect(new Set(terms)).toEqual(
      new Set([
        '#42',
        'quick',
        'qui*',
        'quic*',
        'ox',
        'quick ox',
        'extraordinarily',
        'ext*',
        'extr*',
        'ox extraordinarily',
      ]),
    );
    expect(PREFIX_INDEXED_MIN).toBe(3);
    expect(PREFIX_INDEXED_MAX).toBe(4);
    expect(channelEntry('42')).toBe('#42');
  });

  it('stores only the channel for a content without tokens', () => {
    expect(searchTermsOf(searchTokens('!!! ...'), '7')).toEqual(['#7']);
  });

  it('lets the index decide words, two-word phrases and prefixes of indexed length alone', () => {
    expect(requiredEntries([term('fox'), term('quic', true)])).toEqual({
      entries: ['fox', 'quic*'],
      exact: true,
    });
    expect(requiredEntries([term('quick brown')])).toEqual({ entries: ['quick brown'], exact: true });
  });

  it('asks for the token check on longer phrases, phrases ending in a prefix and longer prefixes', () => {
    expect(requiredEntries([term('the quick brown')])).toEqual({
      entries: ['the quick', 'quick brown'],
      exact: false,
    });
    expect(requiredEntries([term('brown fo', true)])).toEqual({ entries: ['brown'], exact: false });
    expect(requiredEntries([term('brown fox', true)])).toEqual({ entries: ['brown', 'fox*'], exact: false });
    expect(requiredEntries([term('extraordinar', true)])).toEqual({ entries: ['extr*'], exact: false });
    // Shorter than indexed: no entry at all (the service refuses it; the driver still answers exactly).
    expect(requiredEntries([term('qu', true)])).toEqual({ entries: [], exact: false });
    const long = 'x'.repeat(70);
    expect(requiredEntries([term(long)])).toEqual({ entries: ['x'.repeat(64)], exact: false });
  });
});
