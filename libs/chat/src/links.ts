/**
 * The links of a message that Discord would unfurl: http(s) URLs in the text, at most MAX_UNFURLED_LINKS,
 * each once, in order. Not unfurled, as on Discord: a link written `<https://...>` (the suppression syntax), and
 * links inside inline code or code blocks. Written by hand rather than with a linkifier (linkify-it and the like):
 * Discord's rule is a single pattern (its markdown's autolink, the scheme required), while linkifiers also find
 * bare host names ("example.com") and e-mail addresses, which Discord never unfurls.
 */
export const MAX_UNFURLED_LINKS = 5;

// simple-markdown's autolink as Discord uses it: no spaces or '<', and the last character is not punctuation.
const LINK = /https?:\/\/[^\s<]+[^<.,:;"'\]\s]/g;
// Code blocks first (they may hold single backticks), then inline code of any fence length.
const CODE = /```[\s\S]*?```|(`+)[\s\S]*?\1/g;

export function unfurlableLinks(content: string): string[] {
  if (!content.includes('http')) return [];
  const text = content.replace(CODE, (code) => ' '.repeat(code.length));
  const found: string[] = [];
  for (const match of text.matchAll(LINK)) {
    const start = match.index;
    let url = match[0];
    // A closing parenthesis ends the link unless the link opened one (a Wikipedia title).
    while (url.endsWith(')') && count(url, '(') < count(url, ')')) url = url.slice(0, -1);
    // <https://...>: written to show the link without a preview (the pattern itself lets '>' through).
    if (text[start - 1] === '<' && (url.includes('>') || text[start + url.length] === '>')) continue;
    const normal = normalise(url);
    if (normal === null || found.includes(normal)) continue;
    found.push(normal);
    if (found.length === MAX_UNFURLED_LINKS) break;
  }
  return found;
}

/** True when the content holds a link worth a job (cheap: no parse of anything but the text). */
export function hasUnfurlableLinks(content: string): boolean {
  return unfurlableLinks(content).length > 0;
}

function count(text: string, char: string): number {
  let n = 0;
  for (const c of text) if (c === char) n++;
  return n;
}

/** The URL as WHATWG parses it (host lower-cased, default port dropped), without the fragment; null if invalid. */
function normalise(raw: string): string | null {
  try {
    const url = new URL(raw);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) return null;
    url.hash = '';
    return url.toString();
  } catch {
    return null;
  }
}

/**
 * Whether sends enqueue link unfurling (`unfurl.enabled`; libs/media provides it from the config, as chat does
 * not read the config). Without a provider, links are not unfurled.
 */
export interface LinkPreviewSettings {
  enabled: boolean;
}
export const LINK_PREVIEW_SETTINGS = Symbol('LINK_PREVIEW_SETTINGS');

/**
 * Builds the media proxy's signed URL for an external image (`/media/external/...`), so readers' browsers load
 * embed pictures through this server, never from the site. libs/media provides it when `media.external.enabled`;
 * without it (or null), sender embeds keep only their `url`.
 */
export interface ExternalImageProxy {
  url(imageUrl: string): string;
}
export const EXTERNAL_IMAGE_PROXY = Symbol('EXTERNAL_IMAGE_PROXY');

/** A sender's embeds with `proxy_url` on their image and thumbnail (Discord proxies every embed picture). */
export function proxiedEmbeds<
  T extends { image?: { url: string; proxy_url?: string }; thumbnail?: { url: string; proxy_url?: string } },
>(embeds: T[], proxy: ExternalImageProxy | null | undefined): T[] {
  if (!proxy) return embeds;
  return embeds.map((e) => {
    if (!e.image && !e.thumbnail) return e;
    const out = { ...e };
    // attachment:// names a file of the message: nothing to fetch from outside.
    const external = (u: string) => /^https?:/i.test(u);
    if (out.image && external(out.image.url))
      out.image = { ...out.image, proxy_url: proxy.url(out.image.url) };
    if (out.thumbnail && external(out.thumbnail.url))
      out.thumbnail = { ...out.thumbnail, proxy_url: proxy.url(out.thumbnail.url) };
    return out;
  });
}
