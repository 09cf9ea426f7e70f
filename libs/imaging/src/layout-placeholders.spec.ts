import sharp from 'sharp';
import { thumbHashToApproximateAspectRatio, thumbHashToRGBA } from 'thumbhash';
import { configureSharp } from './configure-sharp';
import { computePlaceholders, dominantColorOf } from './layout-placeholders';
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

  it('takes the dominant colour from a 4096-bin histogram, as sharp stats().dominant does, ignoring invisible pixels', async () => {
    // 60% red-ish, 40% blue; and a transparent green half that must not count.
    const pixels = (rgb: number[], alpha: number, n: number) => Array.from({ length: n }, () => [...rgb, alpha]).flat();
    const rgba = Uint8Array.from([...pixels([250, 10, 10], 255, 60), ...pixels([0, 0, 255], 255, 40), ...pixels([0, 255, 0], 0, 500)]);
    expect(dominantColorOf(rgba)).toBe('#f80808');
    const image = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#3070b0' } }).png().toBuffer();
    const { dominant } = await sharp(image).stats();
    const hexOf = (n: number) => n.toString(16).padStart(2, '0');
    expect((await computePlaceholders(image, options)).dominantColor).toBe(`#${hexOf(dominant.r)}${hexOf(dominant.g)}${hexOf(dominant.b)}`);
    expect(dominantColorOf(Uint8Array.from(pixels([0, 255, 0], 0, 4)))).toBe('#08f808');
  });

  it('refuses an undecodable image (the probe child stores null then)', async () => {
    const png = await sharp({ create: { width: 50, height: 50, channels: 3, background: '#000' } }).png().toBuffer();
    await expect(computePlaceholders(png.subarray(0, 60), options)).rejects.toThrow();
  });
});
