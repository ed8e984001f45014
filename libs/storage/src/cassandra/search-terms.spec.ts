import { searchTokens } from '../contract';
import { PREFIX_INDEXED_MAX, PREFIX_INDEXED_MIN, requiredEntries, searchTermsOf } from './search-terms';

const term = (text: string, prefix = false) => ({ tokens: searchTokens(text), prefix });

describe('search terms (Cassandra postings)', () => {
  it('indexes each token and its prefixes within the indexed range only', () => {
    const terms = searchTermsOf(searchTokens('Quick ox extraordinarily'));
    expect(new Set(terms)).toEqual(
      new Set([
        'quick',
        'qui*',
        'quic*',
        'quick*',
        'ox',
        'extraordinarily',
        'ext*',
        'extr*',
        'extra*',
        'extrao*',
      ]),
    );
    expect(PREFIX_INDEXED_MIN).toBe(3);
    expect(PREFIX_INDEXED_MAX).toBe(6);
  });

  it('stores nothing for a content without tokens', () => {
    expect(searchTermsOf(searchTokens('!!! ...'))).toBeUndefined();
  });

  it('lets the index decide words and prefixes of indexed length alone', () => {
    expect(requiredEntries([term('fox'), term('quic', true)])).toEqual({
      entries: ['fox', 'quic*'],
      exact: true,
    });
  });

  it('asks for the token check on phrases and on prefixes outside the indexed range', () => {
    expect(requiredEntries([term('quick brown')])).toEqual({ entries: ['quick', 'brown'], exact: false });
    expect(requiredEntries([term('extraordinar', true)])).toEqual({ entries: ['extrao*'], exact: false });
    // Shorter than indexed: no entry at all (the service refuses it; the driver still answers exactly).
    expect(requiredEntries([term('qu', true)])).toEqual({ entries: [], exact: false });
  });
});
