import { RE2 } from 're2-wasm';
import { KeywordIndex, type KeywordMatch } from './keywords';
import { ActionType, type AutoModRuleDto, type RuleAction, TriggerType } from './rules';

/**
 * AutoMod's evaluation, compiled once per guild when its rules change and then run against every message sent
 * or edited in it, in memory.
 *
 * Keywords (Discord's wildcard semantics: `cat` a whole word, `cat*` a word starting with it, `*cat` a word
 * ending with it, `*cat*` anywhere; case-insensitive) go into one KeywordIndex for the whole guild (hash sets,
 * no regular expression: see keywords.ts), so a message costs a scan of its words whatever the number of
 * keywords, and one per rule for its allow list. `regex_patterns` run on RE2 (the `re2-wasm` build:
 * linear time in the message, whatever the pattern), so a pattern like `(a+)+$` cannot stall a send; they run
 * only in guilds that have them, again as one union first.
 */

/** What a message is checked with. */
export interface AutoModInput {
  content: string;
  authorId: string;
  channelId: string;
  /** The author's role ids. */
  roles: readonly string[];
  /** Unique user and role mentions of the message. */
  mentionCount: number;
  /** The same author sent this same text often enough just now (see SpamTracker). */
  repeated: boolean;
}

export interface AutoModHit {
  rule: AutoModRuleDto;
  /** The keyword or pattern that matched (null for mention spam and spam). */
  matchedKeyword: string | null;
  /** The text that matched (null for mention spam and spam). */
  matchedContent: string | null;
}

interface CompiledRule {
  rule: AutoModRuleDto;
  regexes: { source: string; re: RE2 }[];
  allow: KeywordIndex | null;
  exemptRoles: ReadonlySet<string>;
  exemptChannels: ReadonlySet<string>;
}

/** Compiles a user's pattern on RE2; throws a readable error for syntax RE2 does not have (lookaround, backreferences). */
export function compileRegex(pattern: string): RE2 {
  return new RE2(pattern, 'iu');
}

/** The whole word(s) around a match, for the allow list (Discord: the allow list exempts words, not fragments). */
function enclosingWords(content: string, start: number, end: number): string {
  const word = /[\p{L}\p{N}]/u;
  let a = start;
  let b = end;
  while (a > 0 && word.test(content[a - 1])) a--;
  while (b < content.length && word.test(content[b])) b++;
  return content.slice(a, b);
}

export class CompiledRuleSet {
  private readonly rules: CompiledRule[];
  /** Every keyword of every keyword rule, owned by the rule's index in `rules`. */
  private readonly keywords = new KeywordIndex();
  /** Any regex of any rule (RE2): the same, for regex rules. */
  private readonly anyRegex: RE2 | null;
  readonly hasSpamRule: boolean;
  readonly hasMentionRule: boolean;

  constructor(rules: readonly AutoModRuleDto[]) {
    const enabled = rules.filter((r) => r.enabled);
    this.rules = enabled.map((rule, i) => {
      const m = rule.trigger_metadata;
      const keyword = rule.trigger_type === TriggerType.KEYWORD;
      if (keyword) for (const k of m.keyword_filter ?? []) this.keywords.add(k, i);
      const allow = new KeywordIndex();
      for (const a of m.allow_list ?? []) allow.add(a, 0);
      return {
        rule,
        regexes: keyword
          ? (m.regex_patterns ?? []).map((source) => ({ source, re: compileRegex(source) }))
          : [],
        allow: allow.empty ? null : allow,
        exemptRoles: new Set(rule.exempt_roles),
        exemptChannels: new Set(rule.exempt_channels),
      };
    });
    const regexes = enabled.flatMap((r) =>
      r.trigger_type === TriggerType.KEYWORD ? (r.trigger_metadata.regex_patterns ?? []) : [],
    );
    this.anyRegex = regexes.length > 0 ? compileRegex(regexes.map((p) => `(?:${p})`).join('|')) : null;
    this.hasSpamRule = enabled.some((r) => r.trigger_type === TriggerType.SPAM);
    this.hasMentionRule = enabled.some((r) => r.trigger_type === TriggerType.MENTION_SPAM);
  }

  get size(): number {
    return this.rules.length;
  }

  /** The rules the message breaks (at most one hit per rule), in rule order. */
  evaluate(input: AutoModInput): AutoModHit[] {
    if (this.rules.length === 0) return [];
    const content = input.content;
    const applies = (i: number): boolean => {
      const c = this.rules[i];
      return !c.exemptChannels.has(input.channelId) && !input.roles.some((r) => c.exemptRoles.has(r));
    };
    const keywordHits = this.keywords.match(content, applies);
    const regexCandidate = this.anyRegex !== null && content.length > 0 && this.anyRegex.test(content);
    const hits: AutoModHit[] = [];
    for (const [i, c] of this.rules.entries()) {
      if (!applies(i)) continue;
      const hit = this.check(c, input, keywordHits.get(i), regexCandidate);
      if (hit) hits.push(hit);
    }
    return hits;
  }

  private check(
    c: CompiledRule,
    input: AutoModInput,
    keywordHit: KeywordMatch | undefined,
    regexCandidate: boolean,
  ): AutoModHit | null {
    const { rule } = c;
    switch (rule.trigger_type) {
      case TriggerType.KEYWORD: {
        if (keywordHit) {
          const found = this.allowed(c, input.content, keywordHit);
          if (found)
            return {
              rule,
              matchedKeyword: found.keyword,
              matchedContent: input.content.slice(found.start, found.end),
            };
        }
        if (regexCandidate)
          for (const { source, re } of c.regexes) {
            const m = re.exec(input.content);
            const text = m?.[0] ?? '';
            if (m && !this.exempted(c, enclosingWords(input.content, m.index, m.index + text.length)))
              return { rule, matchedKeyword: source, matchedContent: text };
          }
        return null;
      }
      case TriggerType.MENTION_SPAM: {
        const limit = rule.trigger_metadata.mention_total_limit ?? 0;
        return limit > 0 && input.mentionCount > limit
          ? { rule, matchedKeyword: null, matchedContent: null }
          : null;
      }
      case TriggerType.SPAM:
        return input.repeated ? { rule, matchedKeyword: null, matchedContent: null } : null;
      default:
        return null;
    }
  }

  /** Whether the rule's allow list exempts these words. */
  private exempted(c: CompiledRule, words: string): boolean {
    return c.allow !== null && c.allow.match(words).size > 0;
  }

  /**
   * The keyword match to report, unless the allow list exempts the words around it; then the rule's keywords
   * are searched again with the allowed words blanked out (a message may hold an allowed and a forbidden use).
   */
  private allowed(c: CompiledRule, content: string, hit: KeywordMatch): KeywordMatch | null {
    if (c.allow === null) return hit;
    if (!this.exempted(c, enclosingWords(content, hit.start, hit.end))) return hit;
    const own = new KeywordIndex();
    for (const k of c.rule.trigger_metadata.keyword_filter ?? []) own.add(k, 0);
    let masked = content;
    for (const m of content.matchAll(/[\p{L}\p{N}]+/gu))
      if (this.exempted(c, m[0]))
        masked = masked.slice(0, m.index) + ' '.repeat(m[0].length) + masked.slice(m.index + m[0].length);
    return own.match(masked).get(0) ?? null;
  }
}

/** The actions of the hits, in Discord's order: alerts and timeouts first, the block last (it ends the send). */
export function actionsOf(hits: readonly AutoModHit[]): { hit: AutoModHit; action: RuleAction }[] {
  return hits
    .flatMap((hit) => hit.rule.actions.map((action) => ({ hit, action })))
    .sort((a, b) => order(a.action) - order(b.action));
}

function order(a: RuleAction): number {
  return a.type === ActionType.BLOCK_MESSAGE ? 2 : a.type === ActionType.TIMEOUT ? 1 : 0;
}

const SPAM_WINDOW_MS = 30_000;
const SPAM_REPEATS = 3;
const SPAM_TRACKED = 10_000;

/**
 * The SPAM trigger's heuristic: the same author sending the same text (case and spacing ignored) for the third
 * time within 30 seconds in a guild. Kept per process in a bounded map (oldest forgotten first): in
 * microservices each api process counts the sends it serves, so a flood spread across processes trips later.
 */
export class SpamTracker {
  private readonly recent = new Map<string, { text: string; count: number; since: number }>();

  /** Counts this send; true when it is a repeat that makes it spam. */
  repeated(guildId: string, userId: string, content: string, now: number): boolean {
    const text = content.toLowerCase().replace(/\s+/g, ' ').trim();
    if (text.length === 0) return false;
    const key = `${guildId}:${userId}`;
    const last = this.recent.get(key);
    this.recent.delete(key);
    const next =
      last && last.text === text && now - last.since < SPAM_WINDOW_MS
        ? { text, count: last.count + 1, since: last.since }
        : { text, count: 1, since: now };
    this.recent.set(key, next);
    if (this.recent.size > SPAM_TRACKED) this.recent.delete(this.recent.keys().next().value!);
    return next.count >= SPAM_REPEATS;
  }
}
