import type { Transform } from '@image-cloud/contracts';
import { configureSharp } from './configure-sharp';
import { probeImage } from './image-probe';
import { renderVariant } from './render-variant';
import { BLUE, RED, WHITE, decodeImage, isColorClose, makeAnimation, makeImage, makeOrientedJpeg, truncate } from './testing';

const limits = { maxPixels: 50_000_000, maxFrames: 300 };
const options = { limits, quality: 80, timeoutMs: 5000 };

async function render(bytes: Buffer, transform: Transform) {
  const probe = await probeImage(bytes, limits);
  const variant = await renderVariant(bytes, probe, transform, options);
  return { variant, decoded: await decodeImage(variant.bytes) };
}

beforeAll(() => configureSharp({ threadsPerJob: 1 }));

describe('probeImage', () => {
  it('reports display dimensions after EXIF orientation', async () => {
    const probe = await probeImage(await makeOrientedJpeg(60, 40, 6), limits);
    expect(probe).toMatchObject({ format: 'jpeg', width: 40, height: 60, orientation: 6, frames: 1 });
  });

  it('counts animation frames', async () => {
    const probe = await probeImage(await makeAnimation({ width: 20, height: 10, frames: 4 }), limits);
    expect(probe).toMatchObject({ format: 'gif', width: 20, height: 10, frames: 4 });
  });

  it('refuses empty bodies and non-images with unsupported_format', async () => {
    await expect(probeImage(Buffer.alloc(0), limits)).rejects.toMatchObject({ code: 'unsupported_format', status: 415 });
    await expect(probeImage(Buffer.from('<html><body>nope</body></html>'), limits)).rejects.toMatchObject({ code: 'unsupported_format' });
    await expect(probeImage(Buffer.from('BM\x00\x00\x00\x00'), limits)).rejects.toThrow(/BMP images are not supported/);
  });

  it('refuses a corrupt header with image_corrupt', async () => {
    const png = await makeImage({ width: 10, height: 10, format: 'png' });
    await expect(probeImage(truncate(png, 12), limits)).rejects.toMatchObject({ code: 'image_corrupt', status: 422 });
  });

  it('takes a file with a JPEG start-of-image marker damaged right after it for a corrupt JPEG, as libvips does', async () => {
    const damaged = Buffer.concat([Buffer.from([0xff, 0xd8, 0x00, 0x13]), Buffer.alloc(200, 7)]);
    await expect(probeImage(damaged, limits)).rejects.toMatchObject({ code: 'image_corrupt', status: 422 });
  });

  it('refuses images over the pixel and frame limits before decoding', async () => {
    const image = await makeImage({ width: 300, height: 200, format: 'png' });
    await expect(probeImage(image, { maxPixels: 50_000, maxFrames: 10 })).rejects.toMatchObject({ code: 'image_too_large' });
    const animation = await makeAnimation({ width: 8, height: 8, frames: 5 });
    await expect(probeImage(animation, { maxPixels: 50_000, maxFrames: 3 })).rejects.toThrow(/5 frames, over the limit of 3/);
  });
});

describe('renderVariant', () => {
  it('fits inside the box as JPEG', async () => {
    const { variant, decoded } = await render(await makeImage({ width: 400, height: 200 }), { width: 200, height: 200, fit: 'inside', format: 'jpeg' });
    expect(variant).toMatchObject({ contentType: 'image/jpeg', width: 200, height: 100 });
    expect(decoded).toMatchObject({ format: 'jpeg', width: 200, height: 100 });
  });

  it('applies EXIF orientation so the colours land where the viewer expects', async () => {
    // Stored 60x40, left red / right blue; orientation 6 rotates 90° clockwise: red ends on top.
    const { decoded } = await render(await makeOrientedJpeg(60, 40, 6), { width: 200, height: 200, fit: 'inside', format: 'png' });
    expect([decoded.width, decoded.height]).toEqual([40, 60]);
    expect(isColorClose(decoded.pixel(20, 5), RED)).toBe(true);
    expect(isColorClose(decoded.pixel(20, 55), BLUE)).toBe(true);
  });

  it('pads to exactly the box on white (force_to_size)', async () => {
    const { decoded } = await render(await makeImage({ width: 400, height: 100, color: BLUE }), { width: 200, height: 200, fit: 'pad', format: 'jpeg' });
    expect([decoded.width, decoded.height]).toEqual([200, 200]);
    expect(isColorClose(decoded.pixel(100, 5), WHITE)).toBe(true);
    expect(isColorClose(decoded.pixel(100, 100), BLUE)).toBe(true);
    expect(isColorClose(decoded.pixel(100, 194), WHITE)).toBe(true);
  });

  it('stretches to exactly the box without keeping the aspect ratio', async () => {
    const { decoded } = await render(await makeImage({ width: 400, height: 100 }), { width: 150, height: 120, fit: 'fill', format: 'webp' });
    expect(decoded).toMatchObject({ format: 'webp', width: 150, height: 120 });
  });

  it('flattens transparency onto white for JPEG', async () => {
    const { decoded } = await render(await makeImage({ width: 50, height: 50, format: 'png', color: BLUE, alpha: 0 }), { width: 20, fit: 'inside', format: 'jpeg' });
    expect(isColorClose(decoded.pixel(10, 10), WHITE)).toBe(true);
  });

  it.each(['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff'] as const)('encodes %s', async (format) => {
    const { variant, decoded } = await render(await makeImage({ width: 64, height: 48, format: 'png' }), { width: 32, fit: 'inside', format });
    expect(variant.format).toBe(format);
    expect(decoded.format).toBe(format === 'avif' ? 'heif' : format);
    expect([decoded.width, decoded.height]).toEqual([32, 24]);
  });

  it('keeps animation frames when the output can hold them, first frame otherwise', async () => {
    const animation = await makeAnimation({ width: 40, height: 20, frames: 6 });
    const asGif = await render(animation, { width: 20, fit: 'inside', format: 'gif' });
    expect(asGif.variant).toMatchObject({ frames: 6, width: 20, height: 10 });
    expect(asGif.decoded.frames).toBe(6);
    const asJpeg = await render(animation, { width: 20, fit: 'inside', format: 'jpeg' });
    expect(asJpeg.variant).toMatchObject({ frames: 1, width: 20, height: 10 });
  });

  it('fails a truncated image with image_corrupt', async () => {
    const jpeg = await makeImage({ width: 600, height: 400, format: 'jpeg' });
    const bytes = truncate(jpeg, Math.floor(jpeg.length / 2));
    const probe = await probeImage(bytes, limits);
    await expect(renderVariant(bytes, probe, { width: 100, fit: 'inside', format: 'jpeg' }, options)).rejects.toMatchObject({ code: 'image_corrupt', status: 422 });
  });
});
