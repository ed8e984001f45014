import sharp from 'sharp';
import { parseImageRequest, renderImage } from './images';

describe('parseImageRequest', () => {
  it('reads sizes and formats, clamps to the bound and refuses junk with 400 field errors', () => {
    expect(parseImageRequest({}, 4096)).toBeNull();
    expect(parseImageRequest({ width: '100' }, 4096)).toEqual({ width: 100, height: null, format: null });
    expect(parseImageRequest({ size: '64' }, 4096)).toEqual({ width: 64, height: 64, format: null });
    expect(parseImageRequest({ width: '99999', format: 'JPG' }, 4096)).toEqual({
      width: 4096,
      height: null,
      format: 'jpeg',
    });
    expect(() => parseImageRequest({ width: '-1' }, 4096)).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => parseImageRequest({ width: '0' }, 4096)).toThrow(expect.objectContaining({ status: 400 }));
    expect(() => parseImageRequest({ height: 'big' }, 4096)).toThrow(
      expect.objectContaining({ status: 400 }),
    );
    expect(() => parseImageRequest({ format: 'svg' }, 4096)).toThrow(
      expect.objectContaining({ status: 400 }),
    );
  });
});

describe('renderImage', () => {
  const source = () =>
    sharp({ create: { width: 800, height: 400, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .png()
      .toBuffer();
  const bounds = { maxDimension: 4096, maxInputPixels: 10_000_000 };

  it('fits the box keeping the aspect ratio and converts', async () => {
    const out = await renderImage(
      await source(),
      'image/png',
      { width: 200, height: 200, format: 'webp' },
      bounds,
    );
    expect(out.contentType).toBe('image/webp');
    const meta = await sharp(out.body).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 200, 100]);
  });

  it('never enlarges and never passes the configured bound', async () => {
    const same = await renderImage(
      await source(),
      'image/png',
      { width: 2000, height: null, format: null },
      bounds,
    );
    expect([same.width, same.height, same.contentType]).toEqual([800, 400, 'image/png']);
    const bounded = await renderImage(
      await source(),
      'image/png',
      { width: null, height: null, format: 'jpeg' },
      { ...bounds, maxDimension: 100 },
    );
    expect([bounded.width, bounded.height]).toEqual([100, 50]);
  });

  it('refuses inputs with more pixels than allowed before decoding them', async () => {
    await expect(
      renderImage(
        await source(),
        'image/png',
        { width: 10, height: null, format: null },
        { ...bounds, maxInputPixels: 1000 },
      ),
    ).rejects.toThrow(/pixel limit/i);
  });
});
