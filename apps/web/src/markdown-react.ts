import { createElement, Fragment, type ReactNode } from 'react';
import type { MdNode } from './markdown';

export interface MarkdownParts {
  /** How a `<@id>`, `<@&id>` or `<#id>` shows (a name, highlighted when it is you). */
  mention: (type: 'user' | 'role' | 'channel', id: string, key: number) => ReactNode;
  /** How a spoiler shows (a button that reveals its children). */
  spoiler: (children: ReactNode, key: number) => ReactNode;
}

const TAGS = { strong: 'strong', em: 'em', u: 'u', s: 's', quote: 'blockquote', p: 'p' } as const;

/**
 * The parsed tree as React elements (written with createElement so unit specs can render it without JSX).
 * Text reaches React as text, which escapes it; links are http(s) only (the parser refuses other schemes) and open
 * in a new tab without the opener or a referrer.
 */
export function renderMarkdown(nodes: MdNode[], parts: MarkdownParts): ReactNode[] {
  return nodes.map((n, key): ReactNode => {
    switch (n.kind) {
      case 'text':
        return n.text;
      case 'br':
        // A newline, not <br>: .content keeps white space, and the text (copy, search, tests) keeps the break.
        return '\n';
      case 'code':
        return createElement('code', { key, className: 'md-code' }, n.text);
      case 'codeblock':
        return createElement(
          'pre',
          { key, className: 'md-pre' },
          createElement('code', { 'data-lang': n.lang || undefined }, n.text),
        );
      case 'mention':
        return parts.mention(n.type, n.id, key);
      case 'emoji':
        // The id is digits only (the parser's pattern), so the URL is always a same-origin media path.
        return createElement('img', {
          key,
          className: 'md-emoji',
          src: `/media/emojis/${n.id}.${n.animated ? 'gif' : 'png'}`,
          alt: `:${n.name}:`,
          title: `:${n.name}:`,
          draggable: false,
          loading: 'lazy',
        });
      case 'link':
        return /^https?:\/\//i.test(n.href)
          ? createElement(
              'a',
              { key, href: n.href, target: '_blank', rel: 'noopener noreferrer nofollow' },
              ...renderMarkdown(n.children, parts),
            )
          : createElement(Fragment, { key }, ...renderMarkdown(n.children, parts));
      case 'spoiler':
        return parts.spoiler(createElement(Fragment, null, ...renderMarkdown(n.children, parts)), key);
      case 'strong':
      case 'em':
      case 'u':
      case 's':
      case 'quote':
      case 'p':
        return createElement(
          TAGS[n.kind],
          { key, className: `md-${n.kind}` },
          ...renderMarkdown(n.children, parts),
        );
    }
  });
}
