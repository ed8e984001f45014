import type { EmbedRecord } from '@parley/storage';
import type { PageMeta } from './page-meta';

/** What an oEmbed endpoint answered (only the fields used; each checked to be a string or number). */
export interface OEmbed {
  type?: string;
  title?: string;
  author_name?: string;
  author_url?: string;
  provider_name?: string;
  provider_url?: string;
  thumbnail_url?: string;
  thumbnail_width?: number;
  thumbnail_height?: number;
}

/** Discord cuts an unfurled page's description; titles keep the embed limit. */
const MAX_TITLE = 256;
const MAX_DESCRIPTION = 350;
const MAX_NAME = 256;

function cut(text: string | undefined, max: number): string | undefined {
  if (text === undefined) return undefined;
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** Drops undefined values so a stored embed holds only what is there. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * A page's link embed in Discord's shape: type "video" (og:video, a video og:type or oEmbed type), "article"
 * (og:type article), else "link"; title, description, the page URL, site name as `provider`, oEmbed's author,
 * theme colour, and the page image as `thumbnail` (or as `image` for a large-image Twitter card, as Discord
 * shows it). Images carry no `proxy_url` here: that is added per message (see withProxyUrls). Null when the
 * page has nothing to show.
 */
export function linkEmbed(url: string, meta: PageMeta, oembed: OEmbed | null): EmbedRecord | null {
  const title = cut(meta.title ?? oembed?.title, MAX_TITLE);
  const description = cut(meta.description, MAX_DESCRIPTION);
  const thumbnailUrl = meta.image?.url ?? oembed?.thumbnail_url;
  if (title === undefined && description === undefined && thumbnailUrl === undefined) return null;
  const picture = thumbnailUrl
    ? compact({
        url: thumbnailUrl,
        width: meta.image ? meta.image.width : oembed?.thumbnail_width,
        height: meta.image ? meta.image.height : oembed?.thumbnail_height,
      })
    : undefined;
  const video = meta.video !== undefined || meta.type?.startsWith('video') || oembed?.type === 'video';
  const type = video ? 'video' : meta.type === 'article' ? 'article' : 'link';
  const large = meta.card === 'summary_large_image';
  const providerName = cut(meta.siteName ?? oembed?.provider_name, MAX_NAME);
  const provider =
    providerName !== undefined || oembed?.provider_url !== undefined
      ? compact({ name: providerName, url: oembed?.provider_url })
      : undefined;
  const authorName = cut(oembed?.author_name, MAX_NAME);
  return compact({
    type,
    url,
    title,
    description,
    color: meta.color,
    provider,
    author: authorName !== undefined ? compact({ name: authorName, url: oembed?.author_url }) : undefined,
    thumbnail: picture && !large ? picture : undefined,
    image: picture && large ? picture : undefined,
    video: video && meta.video ? compact({ ...meta.video }) : undefined,
  });
}

/** A link straight to an image: Discord's "image" embed, the picture as its thumbnail. */
export function imageEmbed(url: string, size: { width: number; height: number } | null): EmbedRecord {
  return { type: 'image', url, thumbnail: compact({ url, width: size?.width, height: size?.height }) };
}

/** The embed with `proxy_url` set on its images (the media proxy's signed external-image URLs). */
export function withProxyUrls(embed: EmbedRecord, proxy: ((url: string) => string) | null): EmbedRecord {
  if (!proxy) return embed;
  const out = { ...embed };
  if (out.thumbnail) out.thumbnail = { ...out.thumbnail, proxy_url: proxy(out.thumbnail.url) };
  if (out.image) out.image = { ...out.image, proxy_url: proxy(out.image.url) };
  return out;
}
