/**
 * Content types from the bytes, never from the client's header or the file name. Only what is
 * recognised here is served as what it is; everything else is `application/octet-stream`.
 */
export const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** How many leading bytes `sniff` and `probeImage` need to decide. */
export const SNIFF_BYTES = 256 * 1024;

const ascii = (head: Buffer, offset: number, text: string): boolean =>
  head.length >= offset + text.length && head.toString('latin1', offset, offset + text.length) === text;

const bytes = (head: Buffer, offset: number, values: readonly number[]): boolean =>
  head.length >= offset + values.length && values.every((v, i) => head[offset + i] === v);

export function sniff(head: Buffer): string {
  if (bytes(head, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (bytes(head, 0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (ascii(head, 0, 'GIF87a') || ascii(head, 0, 'GIF89a')) return 'image/gif';
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WEBP')) return 'image/webp';
  if (ascii(head, 0, 'RIFF') && ascii(head, 8, 'WAVE')) return 'audio/wav';
  if (ascii(head, 4, 'ftyp')) {
    const brand = head.toString('latin1', 8, 12);
    if (brand === 'avif' || brand === 'avis') return 'image/avif';
    if (brand === 'heic' || brand === 'heix' || brand === 'mif1') return 'image/heic';
    if (brand === 'qt  ') return 'video/quicktime';
    if (brand.startsWith('M4A')) return 'audio/mp4';
    return 'video/mp4';
  }
  if (bytes(head, 0, [0x1a, 0x45, 0xdf, 0xa3])) return 'video/webm';
  if (ascii(head, 0, 'OggS')) return 'audio/ogg';
  if (ascii(head, 0, 'fLaC')) return 'audio/flac';
  if (ascii(head, 0, 'ID3') || (head.length >= 2 && head[0] === 0xff && (head[1] & 0xe0) === 0xe0))
    return 'audio/mpeg';
  if (ascii(head, 0, '%PDF-')) return 'application/pdf';
  if (bytes(head, 0, [0x50, 0x4b, 0x03, 0x04]) || bytes(head, 0, [0x50, 0x4b, 0x05, 0x06]))
    return 'application/zip';
  if (bytes(head, 0, [0x1f, 0x8b])) return 'application/gzip';
  if (bytes(head, 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c])) return 'application/x-7z-compressed';
  if (isText(head)) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}

/** UTF-8 without NUL or most control characters (a cut multi-byte character at the end is fine). */
function isText(head: Buffer): boolean {
  if (head.length === 0) return false;
  for (const b of head) {
    if (b === 0) return false;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c && b !== 0x1b) return false;
  }
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(head);
  const replaced = decoded.match(/\uFFFD/g)?.length ?? 0;
  return replaced <= 1;
}

export interface ImageSize {
  width: number;
  height: number;
}

/**
 * Pixel size from the header of a PNG, JPEG, GIF or WebP, or null when the bytes are not a
 * well-formed header of the sniffed type: such a file is served as a download and never decoded.
 */
export function probeImage(contentType: string, head: Buffer): ImageSize | null {
  const size = readSize(contentType, head);
  if (!size || size.width < 1 || size.height < 1) return null;
  return size;
}

function readSize(contentType: string, head: Buffer): ImageSize | null {
  switch (contentType) {
    case 'image/png':
      if (!ascii(head, 12, 'IHDR') || head.length < 24) return null;
      return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
    case 'image/gif':
      if (head.length < 10) return null;
      return { width: head.readUInt16LE(6), height: head.readUInt16LE(8) };
    case 'image/webp':
      return webpSize(head);
    case 'image/jpeg':
      return jpegSize(head);
    default:
      return null;
  }
}

function webpSize(head: Buffer): ImageSize | null {
  if (ascii(head, 12, 'VP8 ') && head.length >= 30) {
    if (!bytes(head, 23, [0x9d, 0x01, 0x2a])) return null;
    return { width: head.readUInt16LE(26) & 0x3fff, height: head.readUInt16LE(28) & 0x3fff };
  }
  if (ascii(head, 12, 'VP8L') && head.length >= 25) {
    if (head[20] !== 0x2f) return null;
    const bits = head.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (ascii(head, 12, 'VP8X') && head.length >= 30) {
    return { width: head.readUIntLE(24, 3) + 1, height: head.readUIntLE(27, 3) + 1 };
  }
  return null;
}

function jpegSize(head: Buffer): ImageSize | null {
  let offset = 2;
  while (offset + 9 < head.length) {
    if (head[offset] !== 0xff) return null;
    const marker = head[offset + 1];
    if (marker === 0xff) {
      offset++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2; // markers without a length
      continue;
    }
    const length = head.readUInt16BE(offset + 2);
    if (length < 2) return null;
    // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: head.readUInt16BE(offset + 5), width: head.readUInt16BE(offset + 7) };
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image or scan data before any frame
    offset += 2 + length;
  }
  return null;
}
