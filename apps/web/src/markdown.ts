import MarkdownIt, { type StateInline, type Token } from 'markdown-it';

/**
 * Discord's flavour of markdown, parsed by markdown-it (maintained, CommonMark-exact, and its token stream can be
 * read without ever producing HTML) into a small tree of known node kinds. The UI turns that tree into React
 * elements; no string of HTML is made or injected anywhere, and raw HTML in a message stays text.
 */
export type MdNode =
  | { kind: 'text'; text: string }
  | { kind: 'br' }
  | { kind: 'code'; text: string }
  | { kind: 'codeblock'; text: string; lang: string }
  | { kind: 'mention'; type: 'user' | 'role' | 'channel'; id: string }
  | { kind: 'emoji'; name: string; id: string; animated: boolean }
  | { kind: 'link'; href: string; children: MdNode[] }
  | { kind: 'strong' | 'em' | 'u' | 's' | 'spoiler' | 'quote' | 'p'; children: MdNode[] };

const md = new MarkdownIt('zero', { html: false, linkify: true, breaks: true });
// What Discord renders: emphasis (* _ ** __ ***), ~~strike~~, `code`, ``` fences, > quotes, links and bare URLs.
// No headings, lists, tables, images or raw HTML.
md.enable(['emphasis', 'strikethrough', 'backticks', 'fence', 'blockquote', 'link', 'linkify', 'autolink']);
md.enable(['newline', 'escape', 'paragraph']);
md.linkify.set({ fuzzyLink: false, fuzzyEmail: false });
md.validateLink = (url) => /^https?:\/\//i.test(url);

// markdown-it's own text rule stops only at its own markers; "|" must also stop it, for ||spoilers||.
const STOPS = new Set('\n!#$%&*+-:<=>@[\\]^_`{}~|'.split('').map((c) => c.charCodeAt(0)));
md.inline.ruler.at('text', (state: StateInline, silent: boolean) => {
  let pos = state.pos;
  while (pos < state.posMax && !STOPS.has(state.src.charCodeAt(pos))) pos++;
  if (pos === state.pos) return false;
  if (!silent) state.pending += state.src.slice(state.pos, pos);
  state.pos = pos;
  return true;
});

/** ||hidden until clicked||: its inside is parsed as inline markdown too. */
md.inline.ruler.before('emphasis', 'spoiler', (state: StateInline, silent: boolean) => {
  const start = state.pos;
  const max = state.posMax;
  if (state.src.charCodeAt(start) !== 0x7c || state.src.charCodeAt(start + 1) !== 0x7c) return false;
  const end = state.src.indexOf('||', start + 2);
  if (end < 0 || end === start + 2 || end + 2 > max) return false;
  if (!silent) {
    state.posMax = end;
    state.pos = start + 2;
    state.push('spoiler_open', 'span', 1);
    state.md.inline.tokenize(state);
    state.push('spoiler_close', 'span', -1);
    state.posMax = max;
  }
  state.pos = end + 2;
  return true;
});

/** Discord's mention syntax: <@id> (or the legacy <@!id>), <@&role>, <#channel>. */
const MENTION = /^<(@!?|@&|#)(\d{1,20})>/;
md.inline.ruler.before('autolink', 'mention', (state: StateInline, silent: boolean) => {
  if (state.src.charCodeAt(state.pos) !== 0x3c) return false;
  const match = MENTION.exec(state.src.slice(state.pos, Math.min(state.posMax, state.pos + 26)));
  if (!match) return false;
  if (!silent) {
    const token = state.push('mention', '', 0);
    token.meta = { type: match[1] === '#' ? 'channel' : match[1] === '@&' ? 'role' : 'user', id: match[2] };
  }
  state.pos += match[0].length;
  return true;
});

/** A custom emoji, `<:name:id>` or animated `<a:name:id>`: shown as its image. */
const CUSTOM_EMOJI = /^<(a?):([A-Za-z0-9_]{1,32}):(\d{1,20})>/;
md.inline.ruler.before('autolink', 'custom_emoji', (state: StateInline, silent: boolean) => {
  if (state.src.charCodeAt(state.pos) !== 0x3c) return false;
  const match = CUSTOM_EMOJI.exec(state.src.slice(state.pos, Math.min(state.posMax, state.pos + 58)));
  if (!match) return false;
  if (!silent) {
    const token = state.push('custom_emoji', '', 0);
    token.meta = { name: match[2], id: match[3], animated: match[1] === 'a' };
  }
  state.pos += match[0].length;
  return true;
});

const WRAPPERS: Record<string, 'strong' | 'em' | 'u' | 's' | 'spoiler'> = {
  em_open: 'em',
  s_open: 's',
  spoiler_open: 'spoiler',
};

/** Inline tokens to nodes; anything unknown becomes its text (never markup). */
function inline(tokens: Token[]): MdNode[] {
  const root: MdNode[] = [];
  const stack: { nodes: MdNode[] }[] = [{ nodes: root }];
  const top = () => stack[stack.length - 1].nodes;
  for (const t of tokens) {
    if (t.type === 'text') top().push({ kind: 'text', text: t.content });
    else if (t.type === 'softbreak' || t.type === 'hardbreak') top().push({ kind: 'br' });
    else if (t.type === 'code_inline') top().push({ kind: 'code', text: t.content });
    else if (t.type === 'mention')
      top().push({ kind: 'mention', ...(t.meta as { type: 'user'; id: string }) });
    else if (t.type === 'custom_emoji')
      top().push({ kind: 'emoji', ...(t.meta as { name: string; id: string; animated: boolean }) });
    else if (t.type === 'strong_open' || WRAPPERS[t.type]) {
      // Discord reads __x__ as underline, **x** as bold.
      const kind = t.type === 'strong_open' ? (t.markup === '__' ? 'u' : 'strong') : WRAPPERS[t.type];
      const node: MdNode = { kind, children: [] };
      top().push(node);
      stack.push({ nodes: node.children });
    } else if (t.type === 'link_open') {
      const href = String(t.attrGet('href') ?? '');
      const node: Extract<MdNode, { kind: 'link' }> = { kind: 'link', href, children: [] };
      top().push(node);
      stack.push({ nodes: node.children });
    } else if (t.type.endsWith('_close')) {
      if (stack.length > 1) stack.pop();
    } else if (t.content) top().push({ kind: 'text', text: t.content });
  }
  return root;
}

/** Parses message content. Pure and total: any string gives a tree, never throws for odd input. */
export function parseMarkdown(content: string): MdNode[] {
  const tokens = md.parse(content, {});
  const root: MdNode[] = [];
  const stack: MdNode[][] = [root];
  const top = () => stack[stack.length - 1];
  for (const t of tokens) {
    if (t.type === 'paragraph_open' || t.type === 'blockquote_open') {
      const node: MdNode = { kind: t.type === 'paragraph_open' ? 'p' : 'quote', children: [] };
      top().push(node);
      stack.push(node.children);
    } else if (t.type === 'paragraph_close' || t.type === 'blockquote_close') {
      if (stack.length > 1) stack.pop();
    } else if (t.type === 'inline') {
      top().push(...inline(t.children ?? []));
    } else if (t.type === 'fence' || t.type === 'code_block') {
      top().push({ kind: 'codeblock', text: t.content.replace(/\n$/, ''), lang: t.info.trim() });
    } else if (t.content) {
      top().push({ kind: 'text', text: t.content });
    }
  }
  return root;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const PICTURE = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;

/** Discord shows a message of only emoji (up to 27, spaces allowed) in large type. */
export function isEmojiOnly(content: string): boolean {
  let count = 0;
  // Custom emoji count as one each.
  const text = content
    .replace(/<a?:[A-Za-z0-9_]{1,32}:\d{1,20}>/g, () => {
      count++;
      return '';
    })
    .replace(/\s+/g, '');
  if (count > 27) return false;
  if (!text) return count > 0;
  if (text.length > 27 * 16) return false;
  for (const { segment } of segmenter.segment(text)) {
    if (!PICTURE.test(segment) || ++count > 27) return false;
  }
  return count > 0;
}
