import { RE2 } from 're2-wasm';
import { ActionType, type AutoModRuleDto, type RuleAction, TriggerType } from './rules';

/**
 * AutoMod's evaluation, compiled once per guild when its rules change and then run against every message sent
 * or edited in it, in memory.
 *
 * Keywords (Discord's wildcard semantics: `cat` a whole word, `cat*` a word starting with it, `*cat` a word
 * ending with it, `*cat*` anywhere; case-insensitive) compile into one JavaScript RegExp per rule made of
 * escaped literals only, and one for the whole guild that rules a message in or out with a single scan: no
 * user-written syntax reaches V8's backtracking engine. `regex_patterns` run on RE2 (the `re2-wasm` build:
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
  keywords: RegExp | null;
  regexes: { source: string; re: RE2 }[];
  allow: RegExp | null;
  exemptRoles: ReadonlySet<string>;
  exemptChannels: ReadonlySet<string>;
}

/** Letters and digits: what a keyword's word boundary looks for. */
const WORD = '[\\p{L}\\p{N}]';

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** One keyword with Discord's wildcard semantics, as an escaped-literal RegExp source. */
export function keywordSource(keyword: string): string {
  const k = keyword.trim();
  const lead = k.startsWith('*');
  const trail = k.length > 1 && k.endsWith('*');
  const core = escape(k.slice(lead ? 1 : 0, trail ? -1 : undefined));
  if (core.length === 0) return '(?!)';
  return `${lead ? '' : `(?<!${WORD})`}${core}${trail ? '' : `(?!${WORD})`}`;
}

function literalUnion(keywords: readonly string[]): RegExp | null {
  const sources = keywords.map(keywordSource).filter((s) => s !== '(?!)');
  return sources.length === 0 ? null : new RegExp(sources.join('|'), 'iu');
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
  /** Any keyword of any keyword rule: a message that misses it skips every keyword rule. */
  private readonly anyKeyword: RegExp | null;
  /** Any regex of any rule (RE2): the same, for regex rules. */
  private readonly anyRegex: RE2 | null;
  readonly hasSpamRule: boolean;
  readonly hasMentionRule: boolean;

  constructor(rules: readonly AutoModRuleDto[]) {
    const enabled = rules.filter((r) => r.enabled);
    this.rules = enabled.map((rule) => {
      const m = rule.trigger_metadata;
      return {
        rule,
        keywords: rule.trigger_type === TriggerType.KEYWORD ? literalUnion(m.keyword_filter ?? []) : null,
        regexes:
          rule.trigger_type === TriggerType.KEYWORD
            ? (m.regex_patterns ?? []).map((source) => ({ source, re: compileRegex(source) }))
            : [],
        allow: literalUnion(m.allow_list ?? []),
        exemptRoles: new Set(rule.exempt_roles),
        exemptChannels: new Set(rule.exempt_channels),
      };
    });
    const keywords = enabled.flatMap((r) =>
      r.trigger_type === TriggerType.KEYWORD ? (r.trigger_metadata.keyword_filter ?? []) : [],
    );
    this.anyKeyword = literalUnion(keywords);
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
    const keywordCandidate = this.anyKeyword !== null && content.length > 0 && this.anyKeyword.test(content);
    const regexCandidate = this.anyRegex !== null && content.length > 0 && this.anyRegex.test(content);
    const hits: AutoModHit[] = [];
    for (const c of this.rules) {
      if (c.exemptChannels.has(input.channelId)) continue;
      if (input.roles.some((r) => c.exemptRoles.has(r))) continue;
      const hit = this.check(c, input, keywordCandidate, regexCandidate);
      if (hit) hits.push(hit);
    }
    return hits;
  }

  private check(
    c: CompiledRule,
    input: AutoModInput,
    keywordCandidate: boolean,
    regexCandidate: boolean,
  ): AutoModHit | null {
    const { rule } = c;
    switch (rule.trigger_type) {
      case TriggerType.KEYWORD: {
        if (keywordCandidate && c.keywords) {
          const found = this.firstAllowed(input.content, c.keywords, c.allow);
          if (found) return { rule, matchedKeyword: this.whichKeyword(rule, found), matchedContent: found };
        }
        if (regexCandidate)
          for (const { source, re } of c.regexes) {
            const m = re.exec(input.content);
            const text = m?.[0] ?? '';
            if (
              m &&
              !(c.allow && c.allow.test(enclosingWords(input.content, m.index, m.index + text.length)))
            )
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

  /** The first keyword match whose enclosing words the allow list does not exempt. */
  private firstAllowed(content: string, keywords: RegExp, allow: RegExp | null): string | null {
    const all = new RegExp(keywords.source, 'giu');
    for (const m of content.matchAll(all)) {
      if (allow && allow.test(enclosingWords(content, m.index, m.index + m[0].length))) continue;
      return m[0];
    }
    return null;
  }

  private whichKeyword(rule: AutoModRuleDto, matched: string): string | null {
    for (const k of rule.trigger_metadata.keyword_filter ?? [])
      if (new RegExp(keywordSource(k), 'iu').test(matched)) return k;
    return null;
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
