import { Parser } from 'htmlparser2';

/** What a page says about itself: OpenGraph, Twitter card and plain HTML tags, plus its oEmbed link. */
export interface PageMeta {
  title?: string;
  description?: string;
  siteName?: string;
  /** og:type ("website", "article", "video.movie", ...). */
  type?: string;
  image?: MetaMedia;
  video?: MetaMedia;
  /** twitter:card ("summary", "summary_large_image", "player"). */
  card?: string;
  /** theme-color as a 24-bit integer. */
  color?: number;
  /** The page's JSON oEmbed endpoint (`<link rel="alternate" type="application/json+oembed">`). */
  oembed?: string;
}

export interface MetaMedia {
  url: string;
  width?: number;
  height?: number;
}

/** What is read of a page: everything that matters is in its head. */
const MAX_TEXT = 4096;

/**
 * Reads a page's metadata with htmlparser2 (a maintained, streaming, forgiving HTML parser that decodes
 * entities in attributes and text; chosen over a DOM builder such as cheerio or jsdom because only a handful of
 * tags in the head are wanted, so no tree is built). Parsing stops at `<body>`. URLs are resolved against the
 * page's URL and kept only when http(s). Nothing of the page is interpreted as markup later: the values are
 * plain text.
 */
export function parsePageMeta(html: string, pageUrl: string): PageMeta {
  const meta = new Map<string, string>();
  let title = '';
  let inTitle = false;
  let oembed: string | undefined;
  let done = false;
  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (done) return;
        if (name === 'body') {
          done = true;
          parser.pause();
          return;
        }
        if (name === 'title') inTitle = true;
        else if (name === 'meta') {
          const key = (attribs.property ?? attribs.name ?? attribs.itemprop ?? '').trim().toLowerCase();
          const content = attribs.content;
          // The first value of each key wins (og:image may repeat; the first is the main one).
          if (key && content !== undefined && !meta.has(key)) meta.set(key, content.slice(0, MAX_TEXT));
        } else if (name === 'link') {
          const rel = (attribs.rel ?? '').toLowerCase().split(/\s+/);
          if (
            oembed === undefined &&
            rel.includes('alternate') &&
            (attribs.type ?? '').toLowerCase() === 'application/json+oembed' &&
            attribs.href
          )
            oembed = resolveUrl(attribs.href, pageUrl);
        }
      },
      ontext(text) {
        if (inTitle && title.length < MAX_TEXT) title += text;
      },
      onclosetag(name) {
        if (name === 'title') inTitle = false;
        if (name === 'head') {
          done = true;
          parser.pause();
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  if (!done) parser.end();

  const get = (...keys: string[]): string | undefined => {
    for (const key of keys) {
      const value = clean(meta.get(key));
      if (value) return value;
    }
    return undefined;
  };
  const media = (prefix: 'image' | 'video'): MetaMedia | undefined => {
    const url = resolveUrl(
      get(
        `og:${prefix}:secure_url`,
        `og:${prefix}`,
        `og:${prefix}:url`,
        `twitter:${prefix}`,
        `twitter:${prefix}:src`,
      ) ?? '',
      pageUrl,
    );
    if (!url) return undefined;
    return {
      url,
      width: dimension(get(`og:${prefix}:width`)),
      height: dimension(get(`og:${prefix}:height`)),
    };
  };
  return {
    title: get('og:title', 'twitter:title') ?? clean(title),
    description: get('og:description', 'twitter:description', 'description'),
    siteName: get('og:site_name', 'application-name'),
    type: get('og:type')?.toLowerCase(),
    image: media('image'),
    video: media('video'),
    card: get('twitter:card')?.toLowerCase(),
    color: color(get('theme-color')),
    oembed,
  };
}

/** The URL resolved against the page, if it is http(s) and has no credentials; undefined otherwise. */
export function resolveUrl(raw: string, base: string): string | undefined {
  if (!raw) return undefined;
  try {
    const url = new URL(raw.trim(), base);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password)
      return undefined;
    if (url.toString().length > 2048) return undefined;
    return url.toString();
  } catch {
    return undefined;
  }
}

/** Whitespace collapsed, control characters dropped; undefined when nothing is left. */
function clean(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const text = value
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 0 ? text : undefined;
}

function dimension(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n > 0 ? n : undefined;
}

function color(value: string | undefined): number | undefined {
  const hex = value && /^#([0-9a-f]{6}|[0-9a-f]{3})$/i.exec(value)?.[1];
  if (!hex) return undefined;
  const full = hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex;
  return parseInt(full, 16);
}

/**
 * A page's bytes as text: the charset of the Content-Type header, else of a `<meta charset>` near the start,
 * else UTF-8 (WHATWG TextDecoder, so every encoding browsers know; unknown labels fall back to UTF-8).
 */
export function decodePage(body: Buffer, contentType: string | null): string {
  const declared =
    /charset\s*=\s*"?([\w-]+)/i.exec(contentType ?? '')?.[1] ??
    /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(body.subarray(0, 2048).toString('latin1'))?.[1];
  try {
    return new TextDecoder(declared ?? 'utf-8').decode(body);
  } catch {
    return new TextDecoder('utf-8').decode(body);
  }
}
