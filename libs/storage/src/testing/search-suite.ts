import { SnowflakeGenerator, compareSnowflakes } from '@parley/common';
import {
  SEARCH_TOTAL_CAP,
  searchTokens,
  type MessageRecord,
  type MessageSearchQuery,
  type SearchHas,
  type SearchTerm,
  type Storage,
} from '../contract';

type Filters = Omit<MessageSearchQuery, 'offset' | 'limit'>;

/** A small deterministic PRNG (mulberry32), so a failing corpus can be reproduced from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'harbour',
  'lantern',
  'Café',
  'cafe',
  'naïve',
  'quick-thinking',
  'quickly',
  'quick',
  'brown',
  'fox',
  'foxes',
  'Ünïcödé',
  '東京タワー',
  'release',
  'released',
  'v2.5',
  'ok',
  'extraordinarily',
];

/**
 * The brute-force reference, written apart from the drivers and from `matchesSearch`: a message's tokens
 * joined by single spaces, and each term a substring test on that string with token boundaries.
 */
function reference(message: MessageRecord, q: Filters): boolean {
  if (!q.channelIds.includes(message.channelId)) return false;
  if (q.minId && compareSnowflakes(message.id, q.minId) <= 0) return false;
  if (q.maxId && compareSnowflakes(message.id, q.maxId) >= 0) return false;
  if (q.authorIds.length > 0 && !q.authorIds.includes(message.authorId)) return false;
  if (q.mentions.length > 0 && !q.mentions.some((m) => message.mentions.includes(m))) return false;
  for (const has of q.has) {
    if (has === 'embed') return false;
    if (has === 'link' && !/https?:\/\/./i.test(message.content)) return false;
    if (has === 'file' && message.attachments.length === 0) return false;
    if (has === 'image' && !message.attachments.some((a) => a.contentType.startsWith('image/'))) return false;
  }
  const text = ` ${searchTokens(message.content).join(' ')} `;
  return q.terms.every((t) => text.includes(` ${t.tokens.join(' ')}${t.prefix ? '' : ' '}`));
}

const term = (text: string, prefix = false): SearchTerm => ({ tokens: searchTokens(text), prefix });

/**
 * Message search, run inside the storage contract against every driver: on a seeded corpus spread over
 * several channels and 10-day buckets, every query's answer equals the brute-force scan (ids, order and
 * total), after edits and deletes too, and paging through a result gives the same list.
 */
export function describeSearchContract(get: () => Storage): void {
  describe('message search', () => {
    const random = prng(19);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
    const base = Date.now() - 45 * 24 * 3600_000;
    const snowflakes = new SnowflakeGenerator(4, 11);
    const guildId = snowflakes.next();
    // More channels than a search names one by one (SCOPE_CHANNELS_MAX on SQLite): a search of all of them
    // takes the guild-wide path, one of a few channels the per-channel one.
    const channels = Array.from({ length: 12 }, () => snowflakes.next());
    // Another guild's messages share the words and the buckets: no search of this guild may find them.
    const otherGuild = snowflakes.next();
    const otherChannel = snowflakes.next();
    const authors = Array.from({ length: 4 }, () => snowflakes.next());
    let corpus: MessageRecord[] = [];

    const expected = (q: Filters): string[] =>
      corpus
        .filter((m) => reference(m, q))
        .map((m) => m.id)
        .sort((a, b) => compareSnowflakes(b, a))
        .slice(0, SEARCH_TOTAL_CAP);
    const query = (overrides: Partial<Filters>): Filters => ({
      guildId,
      channelIds: channels,
      terms: [],
      authorIds: [],
      mentions: [],
      has: [],
      ...overrides,
    });
    const answer = async (q: Filters, offset = 0, limit = 25) => {
      const result = await get().messageSearch.search({ ...q, offset, limit });
      return { total: result.total, ids: result.messages.map((m) => m.id) };
    };

    beforeAll(async () => {
      // 240 messages over 45 days: five buckets, twelve channels, ids ascending within each time step; every
      // eighth in the other guild.
      const messages: MessageRecord[] = [];
      for (let i = 0; i < 240; i++) {
        const at = base + Math.floor((i / 240) * 45 * 24 * 3600_000);
        const id = new SnowflakeGenerator(5, i % 100, () => at).next();
        const words = Array.from({ length: 1 + Math.floor(random() * 6) }, () => pick(WORDS));
        if (random() < 0.15)
          words.push(pick(['https://example.test/x', 'see http://a.test', 'HTTPS://B.TEST']));
        const attachments =
          random() < 0.2
            ? [
                {
                  id: new SnowflakeGenerator(6, i % 100, () => at).next(),
                  filename: 'f.png',
                  size: 10,
                  contentType: random() < 0.5 ? 'image/png' : 'text/plain',
                  width: null,
                  height: null,
                },
              ]
            : [];
        const elsewhere = i % 8 === 7;
        messages.push({
          id,
          channelId: elsewhere ? otherChannel : pick(channels),
          guildId: elsewhere ? otherGuild : guildId,
          authorId: pick(authors),
          content: words.join(random() < 0.5 ? ' ' : ', '),
          editedAt: null,
          attachments,
          mentions: random() < 0.25 ? [pick(authors)] : [],
          mentionRoles: [],
          mentionEveryone: false,
          pinned: false,
          type: 0,
          nonce: null,
          referenceId: null,
          embeds: [],
          flags: 0,
        });
      }
      await Promise.all(messages.map((m) => get().messages.create(m)));
      corpus = messages;
    });

    const cases: [string, () => Partial<Filters>][] = [
      ['one word', () => ({ terms: [term('lantern')] })],
      ['a word folded for case and diacritics', () => ({ terms: [term('CAFÉ')] })],
      ['a phrase', () => ({ terms: [term('quick brown')] })],
      ['a word that tokenizes into a phrase', () => ({ terms: [term('quick-thinking')] })],
      ['a prefix', () => ({ terms: [term('qu', true)] })],
      ['a prefix longer than the indexed prefixes', () => ({ terms: [term('extraordinar', true)] })],
      ['a phrase ending in a prefix', () => ({ terms: [term('brown fo', true)] })],
      ['a phrase of three words', () => ({ terms: [term('quick brown fox')] })],
      ['a phrase ending in a longer prefix', () => ({ terms: [term('brown foxe', true)] })],
      ['a prefix of four letters', () => ({ terms: [term('harb', true)] })],
      ['a prefix of five letters', () => ({ terms: [term('relea', true)] })],
      ['a phrase in one channel', () => ({ channelIds: [channels[4]], terms: [term('quick brown')] })],
      ['one channel without content', () => ({ channelIds: [channels[3]] })],
      ['a run of CJK characters', () => ({ terms: [term('東京タワー')] })],
      ['two words (AND)', () => ({ terms: [term('fox'), term('harbour')] })],
      ['a word no message has', () => ({ terms: [term('zeppelin')] })],
      ['an author', () => ({ terms: [term('fox')], authorIds: [authors[0]] })],
      ['authors without content', () => ({ authorIds: [authors[1], authors[2]] })],
      ['mentions', () => ({ mentions: [authors[3]] })],
      ['has link', () => ({ has: ['link'] as SearchHas[] })],
      ['has file and image', () => ({ has: ['file', 'image'] as SearchHas[] })],
      ['has embed (none stored)', () => ({ has: ['embed'] as SearchHas[] })],
      ['one channel', () => ({ channelIds: [channels[1]], terms: [term('ok')] })],
      [
        'a few channels',
        () => ({ channelIds: [channels[0], channels[2], channels[5]], terms: [term('fox')] }),
      ],
      [
        'between min_id and max_id',
        () => ({
          terms: [term('fox')],
          minId: corpus[40].id,
          maxId: corpus[200].id,
        }),
      ],
      ['everything in the channels', () => ({})],
    ];

    it.each(cases)('%s: equals the brute-force scan', async (_name, make) => {
      const q = query(make());
      const want = expected(q);
      const got = await answer(q);
      expect(got.total).toBe(want.length);
      expect(got.ids).toEqual(want.slice(0, 25));
    });

    it('pages are stable: concatenated pages equal the whole list', async () => {
      const q = query({ terms: [term('fo', true)] });
      const want = expected(q);
      expect(want.length).toBeGreaterThan(20);
      const pages: string[] = [];
      for (let offset = 0; offset < want.length; offset += 7) {
        const page = await answer(q, offset, 7);
        expect(page.total).toBe(want.length);
        pages.push(...page.ids);
      }
      expect(pages).toEqual(want);
      expect((await answer(q, want.length, 7)).ids).toEqual([]);
    });

    it('finds edits by their new text only, and never deleted messages', async () => {
      const ours = corpus.filter((m) => m.guildId === guildId);
      const edited = ours.filter((m) => searchTokens(m.content).includes('lantern')).slice(0, 5);
      const deleted = ours
        .filter((m) => searchTokens(m.content).includes('harbour') && !edited.includes(m))
        .slice(0, 5);
      expect(edited.length).toBe(5);
      expect(deleted.length).toBe(5);
      for (const m of edited) {
        await get().messages.update(m.channelId, m.id, {
          content: 'zeppelin over the harbour',
          editedAt: Date.now(),
        });
        m.content = 'zeppelin over the harbour';
      }
      for (const m of deleted) await get().messages.delete(m.channelId, m.id);
      const gone = new Set(deleted.map((m) => m.id));
      corpus = corpus.filter((m) => !gone.has(m.id));

      for (const terms of [[term('zeppelin')], [term('lantern')], [term('harbour')], [term('zep', true)]]) {
        const q = query({ terms });
        const want = expected(q);
        const got = await answer(q, 0, 25);
        expect(got.total).toBe(want.length);
        expect(got.ids).toEqual(want.slice(0, 25));
      }
      expect((await answer(query({ terms: [term('zeppelin')] }))).total).toBe(5);
      const all = await answer(query({}), 0, 25);
      expect(all.ids.filter((id) => gone.has(id))).toEqual([]);
    });

    it('searches a DM (no guild) as a scope of its own', async () => {
      const dm = snowflakes.next();
      const at = Date.now();
      const dmMessages = ['harbour lantern', 'lantern only', 'quick fox'].map((content, i) => ({
        ...corpus[0],
        id: new SnowflakeGenerator(7, i, () => at).next(),
        channelId: dm,
        guildId: null,
        content,
        attachments: [],
        mentions: [],
      }));
      await Promise.all(dmMessages.map((m) => get().messages.create(m)));
      const got = await answer({ ...query({ terms: [term('lantern')] }), guildId: null, channelIds: [dm] });
      expect(got).toEqual({ total: 2, ids: [dmMessages[1].id, dmMessages[0].id] });
    });

    it('answers nothing for an empty channel list', async () => {
      expect(await answer(query({ channelIds: [] }))).toEqual({ total: 0, ids: [] });
    });
  });
}
