import { CompiledRuleSet, SpamTracker, actionsOf } from './engine';
import type { AutoModRuleDto } from './rules';

const rule = (over: Partial<AutoModRuleDto>): AutoModRuleDto => ({
  id: '1',
  guild_id: '2',
  creator_id: '3',
  name: 'r',
  event_type: 1,
  trigger_type: 1,
  trigger_metadata: {},
  actions: [{ type: 1 }],
  enabled: true,
  exempt_roles: [],
  exempt_channels: [],
  ...over,
});
const input = (content: string, over: Partial<Parameters<CompiledRuleSet['evaluate']>[0]> = {}) => ({
  content,
  authorId: '9',
  channelId: '8',
  roles: [],
  mentionCount: 0,
  repeated: false,
  ...over,
});
const keywordSet = (keyword_filter: string[], allow_list: string[] = []) =>
  new CompiledRuleSet([rule({ trigger_metadata: { keyword_filter, allow_list } })]);

describe('AutoMod keywords (Discord wildcard semantics)', () => {
  it.each([
    ['cat', 'a cat here', true],
    ['cat', 'concatenate', false],
    ['cat', 'CAT!', true],
    ['cat*', 'catch this', true],
    ['cat*', 'bobcat', false],
    ['*cat', 'bobcat', true],
    ['*cat', 'catch', false],
    ['*cat*', 'concatenate', true],
    ['bad phrase', 'a bad phrase indeed', true],
    ['a.b', 'axb', false],
    ['a.b', 'a.b', true],
    ['e-mail', 'my e-mail', true],
    ['[x]{2}/', 'a [x]{2}/ b', true],
  ])('%s in %j: %s', (keyword, content, hit) => {
    expect(keywordSet([keyword]).evaluate(input(content))).toHaveLength(hit ? 1 : 0);
  });

  it('reports the keyword and the matched text; the allow list exempts whole words', () => {
    const set = keywordSet(['*cat*'], ['concatenate']);
    expect(set.evaluate(input('please concatenate'))).toEqual([]);
    const [hit] = set.evaluate(input('concatenate the cats'));
    expect(hit.matchedKeyword).toBe('*cat*');
    expect(hit.matchedContent).toBe('cat');
  });

  it('takes keyword text literally and matches thousands of keywords without a regular expression', () => {
    expect(keywordSet(['(a+)+']).evaluate(input('x (a+)+ y'))).toHaveLength(1);
    expect(keywordSet(['(a+)+']).evaluate(input('aaaa'))).toEqual([]);
    const many = keywordSet(Array.from({ length: 6000 }, (_, i) => `w${i}${i % 2 ? '*' : ''}`));
    expect(many.evaluate(input('nothing to see'))).toEqual([]);
    expect(many.evaluate(input('say W5998 please'))[0].matchedContent).toBe('W5998');
    expect(many.evaluate(input('w3ish'))[0].matchedKeyword).toBe('w3*');
  });

  it('an allowed word does not hide a forbidden one elsewhere in the message', () => {
    const set = keywordSet(['*cat*'], ['concatenate']);
    expect(set.evaluate(input('concatenate bobcat'))[0].matchedContent).toBe('cat');
  });
});

describe('AutoMod regexes on RE2', () => {
  it('matches case-insensitively and exempts allow-listed words', () => {
    const set = new CompiledRuleSet([
      rule({ trigger_metadata: { regex_patterns: ['b[a-z]+d'], allow_list: ['bread'] } }),
    ]);
    expect(set.evaluate(input('so BAAD'))[0].matchedContent).toBe('BAAD');
    expect(set.evaluate(input('fresh bread'))).toEqual([]);
  });

  it('refuses syntax RE2 lacks (backreferences) when compiling', () => {
    expect(() => new CompiledRuleSet([rule({ trigger_metadata: { regex_patterns: ['(a)\\1'] } })])).toThrow();
  });

  it('a catastrophic-backtracking pattern stays linear on RE2', () => {
    const set = new CompiledRuleSet([rule({ trigger_metadata: { regex_patterns: ['(a+)+$'] } })]);
    expect(set.evaluate(input(`${'a'.repeat(4000)}b`))).toEqual([]);
    expect(set.evaluate(input('aaaa'))).toHaveLength(1);
  });
});

describe('AutoMod triggers and exemptions', () => {
  it('mention spam counts unique mentions above the limit', () => {
    const set = new CompiledRuleSet([
      rule({ trigger_type: 5, trigger_metadata: { mention_total_limit: 3 } }),
    ]);
    expect(set.evaluate(input('x', { mentionCount: 3 }))).toEqual([]);
    expect(set.evaluate(input('x', { mentionCount: 4 }))).toHaveLength(1);
  });

  it('exempt roles and channels, disabled rules', () => {
    const set = new CompiledRuleSet([
      rule({ trigger_metadata: { keyword_filter: ['x'] }, exempt_roles: ['55'], exempt_channels: ['66'] }),
      rule({ id: '7', trigger_metadata: { keyword_filter: ['y'] }, enabled: false }),
    ]);
    expect(set.evaluate(input('x'))).toHaveLength(1);
    expect(set.evaluate(input('x', { roles: ['55'] }))).toEqual([]);
    expect(set.evaluate(input('x', { channelId: '66' }))).toEqual([]);
    expect(set.evaluate(input('y'))).toEqual([]);
  });

  it('orders actions: alerts, then timeouts, then the block', () => {
    const [hit] = keywordSet(['x']).evaluate(input('x'));
    hit.rule.actions = [{ type: 1 }, { type: 3, metadata: { duration_seconds: 60 } }, { type: 2 }];
    expect(actionsOf([hit]).map((a) => a.action.type)).toEqual([2, 3, 1]);
  });

  it('spam: the third identical text within 30 s', () => {
    const spam = new SpamTracker();
    expect(spam.repeated('g', 'u', 'Buy now', 0)).toBe(false);
    expect(spam.repeated('g', 'u', 'buy  NOW', 1000)).toBe(false);
    expect(spam.repeated('g', 'u', 'buy now', 2000)).toBe(true);
    expect(spam.repeated('g', 'u', 'buy now', 40_000)).toBe(false);
  });
});
