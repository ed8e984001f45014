import type { Readable } from 'node:stream';
import { ValidationError } from '@parley/common';
import { lazy } from '@parley/common';
import type Sharp from 'sharp';
import type { SharpOptions } from 'sharp';

/** sharp (libvips, ~20 MB mapped), loaded on the first image operation. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const sharp = lazy(() => require('sharp') as typeof Sharp);

export type ImageFormat = 'webp' | 'png' | 'jpeg';
const FORMATS: readonly string[] = ['webp', 'png', 'jpeg'];
const CONTENT_TYPES: Record<ImageFormat | 'gif', string> = {
  webp: 'image/webp',
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
};

/** What a client asked for: a bounding box (aspect ratio kept) and an output format. */
export interface ImageRequest {
  width: number | null;
  height: number | null;
  format: ImageFormat | null;
}

export interface ImageBounds {
  maxDimension: number;
  maxInputPixels: number;
}

const DIMENSION = /^[0-9]{1,6}$/;

/**
 * Reads `width`, `height`, `size` (Discord's square bound for avatars and icons) and `format` from a
 * query. Sizes are clamped to [1, maxDimension]; anything that is not a number or a known format is a
 * 400. Returns null when nothing was asked for: the original is served as it is.
 */
export function parseImageRequest(query: Record<string, unknown>, maxDimension: number): ImageRequest | null {
  const errors: Record<string, { code: string; message: string }[]> = {};
  const dimension = (name: string): number | null => {
    const raw = query[name];
    if (raw === undefined || raw === '') return null;
    if (typeof raw !== 'string' || !DIMENSION.test(raw) || Number(raw) === 0) {
      errors[name] = [{ code: 'BASE_TYPE_INVALID', message: 'Must be a positive integer' }];
      return null;
    }
    return Math.min(Number(raw), maxDimension);
  };
  const size = dimension('size');
  const width = dimension('width') ?? size;
  const height = dimension('height') ?? size;
  let format: ImageFormat | null = null;
  const rawFormat = query.format;
  if (rawFormat !== undefined && rawFormat !== '') {
    const value = typeof rawFormat === 'string' ? rawFormat.toLowerCase().replace(/^jpg$/, 'jpeg') : '';
    if (FORMATS.includes(value)) format = value as ImageFormat;
    else errors.format = [{ code: 'BASE_TYPE_CHOICES', message: 'Must be one of webp, png, jpeg' }];
  }
  if (Object.keys(errors).length > 0) throw new ValidationError(errors, 'Invalid image parameters');
  if (width === null && height === null && format === null) return null;
  return { width, height, format };
}

/** A stable text form of a request, for cache keys and ETags. */
export function describeImageRequest(request: ImageRequest): string {
  return `${request.width ?? ''}x${request.height ?? ''}.${request.format ?? ''}`;
}

export interface RenderedImage {
  body: Buffer;
  contentType: string;
  width: number;
  height: number;
}

/**
 * Decodes, scales into the requested box without enlarging (and never past maxDimension), and
 * encodes. Inputs with more than maxInputPixels pixels are refused before decoding (decompression
 * bombs); animated inputs render their first frame.
 */
export async function renderImage(
  input: Buffer | Readable,
  sourceType: string,
  request: ImageRequest,
  bounds: ImageBounds,
): Promise<RenderedImage> {
  const format: ImageFormat | 'gif' = request.format ?? sourceFormat(sourceType);
  const options: SharpOptions = {
    limitInputPixels: bounds.maxInputPixels,
    failOn: 'error',
    animated: false,
  };
  const chain = (Buffer.isBuffer(input) ? sharp()(input, options) : sharp()(options))
    .rotate() // applies EXIF orientation, so the box fits what people see
    .resize({
      width: request.width ?? bounds.maxDimension,
      height: request.height ?? bounds.maxDimension,
      fit: 'inside',
      withoutEnlargement: true,
    })
    .toFormat(format);
  if (!Buffer.isBuffer(input)) {
    input.once('error', (err) => chain.destroy(err));
    input.pipe(chain);
  }
  const output = await chain.toBuffer({ resolveWithObject: true });
  return {
    body: output.data,
    contentType: CONTENT_TYPES[format],
    width: output.info.width,
    height: output.info.height,
  };
}

function sourceFormat(contentType: string): ImageFormat | 'gif' {
  switch (contentType) {
    case 'image/gif':
      return 'gif';
    case 'image/webp':
      return 'webp';
    case 'image/jpeg':
      return 'jpeg';
    default:
      return 'png';
  }
}
