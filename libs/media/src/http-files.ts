import { stripDeceptiveCharacters } from '@parley/http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ByteRange } from './file-store';
import { IMAGE_TYPES } from './sniff';

/** Types a browser may render in place; everything else is sent as a download. */
const INLINE = /^(image\/(png|jpeg|gif|webp)|video\/(mp4|webm)|audio\/[a-z0-9.+-]+|text\/plain)(;|$)/;

export function isInlineType(contentType: string): boolean {
  return INLINE.test(contentType);
}

export function isImageType(contentType: string): boolean {
  return IMAGE_TYPES.has(contentType);
}

/**
 * One `bytes=` range of a file of `size` bytes: null when there is no usable Range header (serve
 * it all: several ranges are answered whole, which RFC 9110 allows), 'unsatisfiable' for a 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return null;
  const [, from, to] = match;
  if (from === '' && to === '') return null;
  if (from === '') {
    const suffix = Number(to);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(from);
  const end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** RFC 9110 If-None-Match: a list of entity tags or `*` (weak comparison). */
export function matchesEtag(request: FastifyRequest, etag: string): boolean {
  const header = request.headers['if-none-match'];
  if (!header) return false;
  if (header.trim() === '*') return true;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === bare);
}

/** `inline` or `attachment` with an ASCII fallback name and the exact UTF-8 one. */
export function contentDisposition(kind: 'inline' | 'attachment', filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

/** Headers every media response carries: nothing served here may run script in the site's origin. */
export function hardenedHeaders(reply: FastifyReply): FastifyReply {
  return reply.headers({
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cross-origin-resource-policy': 'cross-origin',
  });
}

/** A file name safe to store and echo: no path, no control characters, at most 255 characters. */
export function cleanFilename(raw: string | undefined): string {
  const base = (raw ?? '').split(/[\\/]/).pop() ?? '';
  // Controls and bidi overrides go: "gpj.exe" must not read as "exe.jpg" to the people it is shared with.
  const clean = stripDeceptiveCharacters(base).trim();
  const name = clean === '' || clean === '.' || clean === '..' ? 'file' : clean;
  return [...name].slice(0, 255).join('');
}
