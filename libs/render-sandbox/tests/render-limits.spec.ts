import { resolve } from 'node:path';
import { decodeImage, makeImage } from '@image-cloud/imaging/testing';
import { RenderPool } from '../src';

/** Output limits, the memory ceiling of a render child and the probe in the sandbox, against real children and sharp. */

const CHILD = resolve(__dirname, '../../../dist/image-worker/render-child.js');
const limits = { maxPixels: 50_000_000, maxFrames: 300, maxOutputPixels: 40_000_000, maxOutputBytes: 50_000_000 };

describe('a render child under a memory ceiling', () => {
  let pool: RenderPool;
  const replaced: string[] = [];

  beforeAll(async () => {
    pool = new RenderPool({ childScript: CHILD, size: 1, memoryLimitMb: 64, onChildReplaced: (reason) => replaced.push(reason) });
    await pool.ready();
  });

  afterAll(async () => {
    await pool.close();
  });

  it('fails a render that needs more memory than the ceiling, and the same child serves the next one', async () => {
    const tiny = await makeImage({ width: 100, height: 100, format: 'png' });
    // 81 MP (the output limit raised for it); libwebp holds the whole picture (about 324 MB), over the 64 MiB ceiling.
    const huge = pool.render({ bytes: tiny }, null, { width: 9000, height: 9000, fit: 'fill', format: 'webp' }, {
      limits: { ...limits, maxOutputPixels: 100_000_000 },
      quality: 80,
      timeoutMs: 60_000,
    });
    await expect(huge).rejects.toMatchObject({ code: 'image_too_large', status: 422 });

    const variant = await pool.render({ bytes: tiny }, null, { width: 50, fit: 'inside', format: 'jpeg' }, { limits, quality: 80, timeoutMs: 10_000 });
    expect(await decodeImage(variant.bytes)).toMatchObject({ format: 'jpeg', width: 50, height: 50 });
    expect(replaced).toEqual([]);
  }, 60_000);

  it('refuses an output over the pixel limit before decoding, and an encoded output over the byte limit', async () => {
    const pixel = await makeImage({ width: 1, height: 1, format: 'png' });
    const giant = pool.render({ bytes: pixel }, null, { width: 10_000, height: 10_000, fit: 'fill', format: 'jpeg' }, { limits, quality: 80, timeoutMs: 10_000 });
    await expect(giant).rejects.toThrow(/10000x10000 = 100000000 pixels, over the output limit of 40000000/);

    const image = await makeImage({ width: 200, height: 200, format: 'png' });
    const overBytes = pool.render({ bytes: image }, null, { width: 200, fit: 'inside', format: 'tiff' }, { limits: { ...limits, maxOutputBytes: 100 }, quality: 80, timeoutMs: 10_000 });
    await expect(overBytes).rejects.toThrow(/bytes, over the output limit of 100/);
  }, 30_000);

  it('probes a header in a child, with the input limits', async () => {
    const image = await makeImage({ width: 300, height: 120, format: 'png' });
    const before = pool.stats.maxActive;
    expect(before).toBeGreaterThan(0);
    await expect(pool.probe({ bytes: image }, limits, 5_000)).resolves.toMatchObject({ format: 'png', width: 300, height: 120, frames: 1 });
    await expect(pool.probe({ bytes: image }, { ...limits, maxPixels: 1000 }, 5_000)).rejects.toMatchObject({ code: 'image_too_large' });
    await expect(pool.probe({ bytes: Buffer.from('<html>no</html>') }, limits, 5_000)).rejects.toMatchObject({ code: 'unsupported_format' });
  }, 30_000);
});
