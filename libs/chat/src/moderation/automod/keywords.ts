/**
 * Discord's keyword wildcards matched without regular expressions: `cat` a whole word, `cat*` a word starting
 * with it, `*cat` a word ending with it, `*cat*` anywhere; case-insensitive (lower-cased both sides). Words are
 * runs of letters and digits in any script.
 *
 * Keywords made of word characters only (the common case) go into hash sets by kind and length, so a message
 * costs one scan for its words plus a few set lookups per word, whatever the number of keywords. Keywords with
 * spaces or punctuation are searched with `indexOf` and their boundaries checked. No keyword ever becomes a
 * RegExp: V8 compiles a large alternation (thousands of keywords, case-insensitive, Unicode) in seconds, which
 * a rule change would make the next send pay.
 */

const WORD_CHAR = /[\p{L}\p{N}]/u;
const WORDS = /[\p{L}\p{N}]+/gu;
const ONLY_WORD_CHARS = /^[\p{L}\p{N}]+$/u;

export interface KeywordMatch {
  /** Who registered the keyword (a rule's index). */
  owner: number;
  keyword: string;
  start: number;
  end: number;
}

type Kind = 'whole' | 'prefix' | 'suffix' | 'anywhere';

interface Entry {
  owner: number;
  keyword: string;
}

function kindOf(keyword: string): { kind: Kind; core: string } | null {
  const k = keyword.trim().toLowerCase();
  const lead = k.startsWith('*');
  const trail = k.length > 1 && k.endsWith('*');
  const core = k.slice(lead ? 1 : 0, trail ? -1 : undefined);
  if (core.length === 0) return null;
  const kind: Kind = lead && trail ? 'anywhere' : lead ? 'suffix' : trail ? 'prefix' : 'whole';
  return { kind, core };
}

class Bucket {
  readonly byText = new Map<string, Entry[]>();
  readonly lengths = new Set<number>();
  add(core: string, entry: Entry): void {
    const list = this.byText.get(core);
    if (list) list.push(entry);
    else this.byText.set(core, [entry]);
    this.lengths.add(core.length);
  }
  get size(): number {
    return this.byText.size;
  }
}

export class KeywordIndex {
  private readonly buckets: Record<Kind, Bucket> = {
    whole: new Bucket(),
    prefix: new Bucket(),
    suffix: new Bucket(),
    anywhere: new Bucket(),
  };
  /** Keywords with characters other than letters and digits: searched by indexOf. */
  private readonly literal: { kind: Kind; core: string; entry: Entry }[] = [];

  add(keyword: string, owner: number): void {
    const parsed = kindOf(keyword);
    if (!parsed) return;
    const entry = { owner, keyword };
    if (ONLY_WORD_CHARS.test(parsed.core)) this.buckets[parsed.kind].add(parsed.core, entry);
    else this.literal.push({ ...parsed, entry });
  }

  get empty(): boolean {
    return this.literal.length === 0 && Object.values(this.buckets).every((b) => b.size === 0);
  }

  /** Every owner's first match in `content` (at most one per owner), in no particular order. */
  match(content: string, wanted?: (owner: number) => boolean): Map<number, KeywordMatch> {
    const found = new Map<number, KeywordMatch>();
    if (this.empty || content.length === 0) return found;
    const text = content.toLowerCase();
    // toLowerCase keeps positions for all but a few characters (e.g. İ); matches are then reported on `text`.
    const hit = (entries: Entry[] | undefined, start: number, end: number) => {
      if (!entries) return;
      for (const e of entries)
        if (!found.has(e.owner) && (!wanted || wanted(e.owner)))
          found.set(e.owner, { owner: e.owner, keyword: e.keyword, start, end });
    };
    const { whole, prefix, suffix, anywhere } = this.buckets;
    for (const m of text.matchAll(WORDS)) {
      const word = m[0];
      const at = m.index;
      if (whole.size > 0) hit(whole.byText.get(word), at, at + word.length);
      if (prefix.size > 0)
        for (const l of prefix.lengths)
          if (l <= word.length) hit(prefix.byText.get(word.slice(0, l)), at, at + l);
      if (suffix.size > 0)
        for (const l of suffix.lengths)
          if (l <= word.length)
            hit(suffix.byText.get(word.slice(word.length - l)), at + word.length - l, at + word.length);
      if (anywhere.size > 0)
        for (const l of anywhere.lengths)
          for (let i = 0; i + l <= word.length; i++)
            hit(anywhere.byText.get(word.substr(i, l)), at + i, at + i + l);
    }
    for (const { kind, core, entry } of this.literal) {
      if (found.has(entry.owner) || (wanted && !wanted(entry.owner))) continue;
      for (let i = text.indexOf(core); i >= 0; i = text.indexOf(core, i + 1)) {
        const end = i + core.length;
        const startOk = kind === 'suffix' || kind === 'anywhere' || i === 0 || !WORD_CHAR.test(text[i - 1]);
        const endOk =
          kind === 'prefix' || kind === 'anywhere' || end === text.length || !WORD_CHAR.test(text[end]);
        if (startOk && endOk) {
          hit([entry], i, end);
          break;
        }
      }
    }
    return found;
  }
}
