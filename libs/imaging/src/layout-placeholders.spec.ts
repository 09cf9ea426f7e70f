import sharp from 'sharp';
import { thumbHashToApproximateAspectRatio, thumbHashToRGBA } from 'thumbhash';
import { configureSharp } from './configure-sharp';
import { computePlaceholders } from './layout-placeholders';
import { makeOrientedJpeg } from './testing';

const options = { maxPixels: 50_000_000, timeoutMs: 5000 };

beforeAll(() => configureSharp({ threadsPerJob: 1 }));

function decoded(thumbHash: string) {
  const hash = Buffer.from(thumbHash, 'base64');
  return { ...thumbHashToRGBA(hash), ratio: thumbHashToApproximateAspectRatio(hash) };
}

describe('computePlaceholders', () => {
  it('gives a ThumbHash that decodes to the image aspect ratio and its dominant colour', async () => {
    const wide = await sharp({ create: { width: 400, height: 200, channels: 3, background: '#c81e1e' } }).jpeg().toBuffer();
    const placeholders = await computePlaceholders(wide, options);
    const preview = decoded(placeholders.thumbHash);
    expect(preview.w / preview.h).toBeCloseTo(2, 0);
    expect(preview.ratio).toBeCloseTo(2, 0);
    expect(placeholders.dominantColor).toMatch(/^#[0-9a-f]{6}$/);
    const [r, g, b] = [1, 3, 5].map((at) => parseInt(placeholders.dominantColor.slice(at, at + 2), 16));
    expect(r).toBeGreaterThan(150);
    expect(g).toBeLessThan(80);
    expect(b).toBeLessThan(80);
  });

  it('follows EXIF orientation: a 60x40 JPEG marked rotated 90° previews tall', async () => {
    const preview = decoded((await computePlaceholders(await makeOrientedJpeg(60, 40, 6), options)).thumbHash);
    expect(preview.h).toBeGreaterThan(preview.w);
  });

  it('keeps alpha in the ThumbHash of a transparent image', async () => {
    const png = await sharp({ create: { width: 50, height: 50, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0 } } }).png().toBuffer();
    const preview = decoded((await computePlaceholders(png, options)).thumbHash);
    expect(Math.max(...preview.rgba.filter((_, i) => i % 4 === 3))).toBeLessThan(64);
  });

  it('refuses an undecodable image (the probe child stores null then)', async () => {
    const png = await sharp({ create: { width: 50, height: 50, channels: 3, background: '#000' } }).png().toBuffer();
    await expect(computePlaceholders(png.subarray(0, 60), options)).rejects.toThrow();
  });
});
