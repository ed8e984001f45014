import type { EmbedRecord } from '@parley/storage';
import { z } from 'zod';
import { IMAGE_TYPES, probeImage, sniff } from '../sniff';
import { ExternalFetchError, SafeFetcher, type SafeFetchOptions } from '../ssrf-guard';
import { type OEmbed, imageEmbed, linkEmbed } from './link-embed';
import { decodePage, parsePageMeta, resolveUrl } from './page-meta';

export interface UnfurlOptions {
  /** Hosts that may resolve to private addresses (`unfurl.allow_private_hosts`). */
  allowPrivateHosts: readonly string[];
  connectTimeoutMs: number;
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  userAgent: string;
  /** Tests only: name resolution and the HTTP client (see SafeFetchOptions). */
  resolve?: SafeFetchOptions['resolve'];
  request?: SafeFetchOptions['request'];
}

const text = z.string().max(4096).optional().catch(undefined);
const size = z.number().int().min(1).max(100_000).optional().catch(undefined);
const OEMBED = z.object({
  type: text,
  title: text,
  author_name: text,
  author_url: text,
  provider_name: text,
  provider_url: text,
  thumbnail_url: text,
  thumbnail_width: size,
  thumbnail_height: size,
});

/**
 * Fetches one link and builds its embed: through the SSRF guard (every hop's addresses checked, private ones
 * refused unless the host is on the operator's allow-list), with a connect timeout, a total timeout and a byte
 * limit (a page is cut at the limit: its head is what matters). An HTML page gives its OpenGraph/Twitter/HTML
 * metadata and, when it links one and lacks a title or image, its oEmbed answer (fetched the same guarded way);
 * an image gives an image embed. Answers null when there is nothing to show or the fetch failed (the reason is
 * returned for the log); throws nothing for a bad page.
 */
export class Unfurler {
  private readonly pages: SafeFetcher;
  private readonly fetchOptions: SafeFetchOptions;

  constructor(private readonly options: UnfurlOptions) {
    const allowed = new Set(options.allowPrivateHosts.map((h) => h.toLowerCase().replace(/^\[|\]$/g, '')));
    this.fetchOptions = {
      maxBytes: options.maxBytes,
      timeoutMs: options.timeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      maxRedirects: options.maxRedirects,
      userAgent: options.userAgent,
      accept: 'text/html,application/xhtml+xml,application/json;q=0.9,image/*;q=0.8,*/*;q=0.5',
      truncate: true,
      allowHost: (host) => allowed.has(host),
      resolve: options.resolve,
      request: options.request,
    };
    this.pages = new SafeFetcher(this.fetchOptions);
  }

  async unfurl(url: string): Promise<{ embed: EmbedRecord | null; failure?: string }> {
    // One time budget per link, the oEmbed request included: a job never waits longer than `timeout` for a link.
    const deadline = Date.now() + this.options.timeoutMs;
    let page;
    try {
      page = await this.pages.fetch(url);
    } catch (err) {
      if (err instanceof ExternalFetchError) return { embed: null, failure: `${err.reason}: ${err.message}` };
      throw err;
    }
    const contentType = (page.contentType ?? '').split(';')[0].trim().toLowerCase();
    const kind = sniff(page.body);
    if (IMAGE_TYPES.has(kind)) return { embed: imageEmbed(url, probeImage(kind, page.body)) };
    if (contentType !== 'text/html' && contentType !== 'application/xhtml+xml')
      return { embed: null, failure: `not a page (${contentType || 'no content type'})` };
    const meta = parsePageMeta(decodePage(page.body, page.contentType), page.url);
    const oembed =
      meta.oembed && (meta.title === undefined || meta.image === undefined)
        ? await this.oembed(meta.oembed, page.url, deadline - Date.now())
        : null;
    return { embed: linkEmbed(url, meta, oembed) };
  }

  private async oembed(endpoint: string, pageUrl: string, remainingMs: number): Promise<OEmbed | null> {
    if (remainingMs <= 0) return null;
    try {
      const fetcher = new SafeFetcher({ ...this.fetchOptions, timeoutMs: remainingMs, truncate: false });
      const answer = await fetcher.fetch(endpoint);
      const parsed = OEMBED.safeParse(JSON.parse(answer.body.toString('utf8')));
      if (!parsed.success) return null;
      const o = parsed.data;
      return {
        ...o,
        author_url: o.author_url ? resolveUrl(o.author_url, pageUrl) : undefined,
        provider_url: o.provider_url ? resolveUrl(o.provider_url, pageUrl) : undefined,
        thumbnail_url: o.thumbnail_url ? resolveUrl(o.thumbnail_url, pageUrl) : undefined,
      };
    } catch {
      // A failing or malformed oEmbed answer leaves the page's own tags.
      return null;
    }
  }
}
