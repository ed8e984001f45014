import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { isEmojiOnly, parseMarkdown, type MdNode } from './markdown';
import { renderMarkdown } from './markdown-react';

const parts = {
  mention: (type: string, id: string, key: number) =>
    createElement('span', { key, className: `mention mention-${type}` }, `@${id}`),
  spoiler: (children: unknown, key: number) =>
    createElement('button', { key, className: 'spoiler' }, children as never),
};
const html = (content: string) =>
  renderToStaticMarkup(createElement('div', null, ...renderMarkdown(parseMarkdown(content), parts)));

describe('markdown, Discord flavour', () => {
  test('custom emoji count as emoji for large emoji-only messages', () => {
    expect(isEmojiOnly('<:a_b:1> <a:c:2>')).toBe(true);
    expect(isEmojiOnly('<:a_b:1> 👍')).toBe(true);
    expect(isEmojiOnly('<:a_b:1> hi')).toBe(false);
    expect(isEmojiOnly('<:a_b:1>'.repeat(28))).toBe(false);
  });

  test.each([
    ['**bold**', '<p class="md-p"><strong class="md-strong">bold</strong></p>'],
    ['*it* and _it_', '<p class="md-p"><em class="md-em">it</em> and <em class="md-em">it</em></p>'],
    ['__under__', '<p class="md-p"><u class="md-u">under</u></p>'],
    ['~~gone~~', '<p class="md-p"><s class="md-s">gone</s></p>'],
    [
      '||secret **x**||',
      '<p class="md-p"><button class="spoiler">secret <strong class="md-strong">x</strong></button></p>',
    ],
    ['`a <b>`', '<p class="md-p"><code class="md-code">a &lt;b&gt;</code></p>'],
    [
      '```js\nlet a = "<i>";\n```',
      '<pre class="md-pre"><code data-lang="js">let a = &quot;&lt;i&gt;&quot;;</code></pre>',
    ],
    ['> quoted', '<blockquote class="md-quote"><p class="md-p">quoted</p></blockquote>'],
    [
      'hi <@42> and <@!7> in <#9>',
      '<p class="md-p">hi <span class="mention mention-user">@42</span> and <span class="mention mention-user">@7</span> in <span class="mention mention-channel">@9</span></p>',
    ],
    ['one\ntwo', '<p class="md-p">one\ntwo</p>'],
    [
      'hi <:party_parrot:123456789012345678> <a:dance:42>',
      '<p class="md-p">hi <img class="md-emoji" src="/media/emojis/123456789012345678.png" alt=":party_parrot:" title=":party_parrot:" draggable="false" loading="lazy"/> <img class="md-emoji" src="/media/emojis/42.gif" alt=":dance:" title=":dance:" draggable="false" loading="lazy"/></p>',
    ],
    // Not custom emoji: stay text (escaped), never an image with an attacker's URL.
    [
      '<:bad name:1> <:x:1" onerror="y> <:x:abc>',
      '<p class="md-p">&lt;:bad name:1&gt; &lt;:x:1&quot; onerror=&quot;y&gt; &lt;:x:abc&gt;</p>',
    ],
    ['`<:in_code:1>`', '<p class="md-p"><code class="md-code">&lt;:in_code:1&gt;</code></p>'],
  ])('%s', (input, expected) => {
    expect(html(input)).toBe(`<div>${expected}</div>`);
  });

  test('links: bare, angle-bracketed and masked, http(s) only', () => {
    expect(html('see https://example.test/a?b=1.')).toBe(
      '<div><p class="md-p">see <a href="https://example.test/a?b=1" target="_blank" rel="noopener noreferrer nofollow">https://example.test/a?b=1</a>.</p></div>',
    );
    expect(html('[docs](https://example.test/d)')).toContain('<a href="https://example.test/d"');
    expect(html('[x](javascript:alert(1))')).not.toContain('<a');
    expect(html('<javascript:alert(1)>')).not.toContain('<a');
    expect(html('[x](data:text/html,hi)')).not.toContain('<a');
  });

  test('raw HTML stays text', () => {
    expect(html('<script>alert(1)</script>')).toBe(
      '<div><p class="md-p">&lt;script&gt;alert(1)&lt;/script&gt;</p></div>',
    );
    expect(html('<img src=x onerror=alert(1)>')).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  test('large emoji: only emoji, up to 27', () => {
    expect(isEmojiOnly('🎉')).toBe(true);
    expect(isEmojiOnly('👍🏽 🇫🇷 👨‍👩‍👧')).toBe(true);
    expect(isEmojiOnly('🎉 yay')).toBe(false);
    expect(isEmojiOnly('123')).toBe(false);
    expect(isEmojiOnly('😀'.repeat(28))).toBe(false);
    expect(isEmojiOnly('')).toBe(false);
  });
});

// A small deterministic generator (the same cases on every run, so a failure can be replayed).
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

const HOSTILE = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<a href="javascript:alert(1)">x</a>',
  '[x](javascript:alert(1))',
  '[x](JaVaScRiPt:alert(1))',
  '[x](vbscript:x)',
  '[x](data:text/html;base64,PHNjcmlwdD4=)',
  '<javascript:alert(1)>',
  '<https://ok.test/"onmouseover="x>',
  '[a](https://ok.test/" onclick="x)',
  '"><svg onload=alert(1)>',
  '&lt;b&gt;',
  '&#60;script&#62;',
  '<style>*{}</style>',
  '<iframe src=//x>',
  '<@123>',
  '<@&9>',
  '<#1>',
  '<@!>',
  '<:ok_name:123>',
  '<a:anim:456>',
  '<:x:1" onerror="y>',
  '<:',
  ':1>',
  '||',
  '**',
  '__',
  '~~',
  '*',
  '_',
  '`',
  '```',
  '> ',
  '\n',
  ' ',
  '\\',
  '[',
  ']',
  '(',
  ')',
  'https://example.test/x',
  'text',
  '🎉',
  '\u202e',
  '\u0000',
];
const ALLOWED_TAGS = new Set([
  'div',
  'p',
  'br',
  'strong',
  'em',
  'u',
  's',
  'code',
  'pre',
  'blockquote',
  'a',
  'span',
  'button',
  'img',
]);
const ALLOWED_ATTRS = new Set([
  'class',
  'href',
  'target',
  'rel',
  'data-lang',
  'src',
  'alt',
  'title',
  'draggable',
  'loading',
]);

function textOf(nodes: MdNode[]): number {
  let n = 0;
  for (const node of nodes) if ('children' in node) n += textOf(node.children);
  return n + nodes.length;
}

describe('markdown fuzzed with hostile input', () => {
  test('2000 random mixes: only known tags and attributes, links http(s) only, never a throw', () => {
    const next = random(18);
    for (let run = 0; run < 2000; run++) {
      const count = 1 + Math.floor(next() * 12);
      let input = '';
      for (let i = 0; i < count; i++) input += HOSTILE[Math.floor(next() * HOSTILE.length)];
      const out = html(input);
      // React escapes text and attribute values, so every "<" left in the output opens a real element.
      for (const tag of out.matchAll(/<\/?([a-zA-Z0-9-]+)([^>]*)>/g)) {
        if (!ALLOWED_TAGS.has(tag[1])) throw new Error(`tag <${tag[1]}> from ${JSON.stringify(input)}`);
        for (const attr of tag[2].matchAll(/\s([^\s=/]+)(?:="([^"]*)")?/g)) {
          if (!ALLOWED_ATTRS.has(attr[1]))
            throw new Error(`attribute ${attr[1]} from ${JSON.stringify(input)}`);
          if (attr[1] === 'href' && !/^https?:\/\//.test(attr[2] ?? ''))
            throw new Error(`href ${attr[2]} from ${JSON.stringify(input)}`);
          if (attr[1] === 'src' && !/^\/media\/emojis\/\d+\.(png|gif)$/.test(attr[2] ?? ''))
            throw new Error(`src ${attr[2]} from ${JSON.stringify(input)}`);
        }
      }
      expect(textOf(parseMarkdown(input))).toBeGreaterThanOrEqual(input.trim() ? 1 : 0);
    }
  });

  test('deep nesting and long input stay bounded', () => {
    const deep = '> '.repeat(500) + '**'.repeat(2000) + '||'.repeat(2000) + '`'.repeat(2000);
    expect(() => html(deep)).not.toThrow();
    expect(() => html('*a'.repeat(2000))).not.toThrow();
  });
});
