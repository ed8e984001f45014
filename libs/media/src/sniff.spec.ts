import sharp, { type Sharp } from 'sharp';
import { probeImage, sniff } from './sniff';

function pixels(width: number, height: number): Sharp {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 31) % 251;
  return sharp(raw, { raw: { width, height, channels: 3 } });
}

describe('sniff and probeImage', () => {
  it.each([
    ['png', 'image/png'],
    ['jpeg', 'image/jpeg'],
    ['gif', 'image/gif'],
    ['webp', 'image/webp'],
  ] as const)(
    'recognises %s from its bytes and reads its size from the header alone',
    async (format, type) => {
      const bytes = await pixels(321, 123).toFormat(format).toBuffer();
      expect(sniff(bytes)).toBe(type);
      expect(probeImage(type, bytes.subarray(0, 4096))).toEqual({ width: 321, height: 123 });
    },
  );

  it('reads lossless and extended WebP headers', async () => {
    const lossless = await pixels(77, 55).webp({ lossless: true }).toBuffer();
    expect(probeImage(sniff(lossless), lossless)).toEqual({ width: 77, height: 55 });
    const withAlpha = await sharp({
      create: { width: 40, height: 30, channels: 4, background: { r: 1, g: 2, b: 3, alpha: 0.5 } },
    })
      .webp()
      .withMetadata()
      .toBuffer();
    expect(probeImage(sniff(withAlpha), withAlpha)).toEqual({ width: 40, height: 30 });
  });

  it('finds the JPEG frame header after large metadata segments', async () => {
    const jpeg = await pixels(64, 48).jpeg().toBuffer();
    // An APP1 segment of 60 KB between SOI and the rest, as EXIF thumbnails make.
    const app1 = Buffer.alloc(60_000 + 4);
    app1.writeUInt16BE(0xffe1, 0);
    app1.writeUInt16BE(60_000 + 2, 2);
    const padded = Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
    expect(probeImage('image/jpeg', padded)).toEqual({ width: 64, height: 48 });
  });

  it('does not take a file that merely claims to be an image for one', () => {
    const text = Buffer.from('definitely a PNG, trust me\n');
    expect(sniff(text)).toBe('text/plain; charset=utf-8');
    expect(probeImage('image/png', text)).toBeNull();
    // The right magic number with a broken header is no image either.
    const fake = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.from('junk'),
    ]);
    expect(sniff(fake)).toBe('image/png');
    expect(probeImage('image/png', fake)).toBeNull();
    expect(
      probeImage('image/jpeg', Buffer.from([0xff, 0xd8, 0xff, 0xda, 0, 4, 0, 0, 0, 0, 0, 0])),
    ).toBeNull();
  });

  it('classifies other common types and falls back to octet-stream', () => {
    expect(sniff(Buffer.from('%PDF-1.7\n'))).toBe('application/pdf');
    expect(sniff(Buffer.from([0x50, 0x4b, 0x03, 0x04, 1, 2]))).toBe('application/zip');
    expect(sniff(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBe('text/plain; charset=utf-8');
    expect(sniff(Buffer.from([0, 1, 2, 3, 0xfe, 0xff]))).toBe('application/octet-stream');
    expect(sniff(Buffer.alloc(0))).toBe('application/octet-stream');
  });
});
