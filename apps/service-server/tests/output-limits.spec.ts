import { renderJobFor } from '@image-cloud/contracts';
import { makeImage, makeNoiseImage } from '@image-cloud/imaging/testing';
import { LocalDirectoryStorage } from '@image-cloud/storage';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/** Output is bounded like input, and headers the worker cannot vouch for are probed in the sandbox: real workers, render children and Redis. */

describe('output limits and the sandboxed probe', () => {
  let system: SystemUnderTest;

  beforeAll(async () => {
    system = await startSystem({ name: 'output-limits', config: { limits: { maxOutputPixels: 40_000_000, maxOutputBytes: 20_000 } } });
    system.origin.serveBytes('pixel.png', await makeImage({ width: 1, height: 1, format: 'png' }), 'image/png');
    system.origin.serveBytes('noise.jpg', await makeNoiseImage(300, 300), 'image/jpeg');
    system.origin.serveBytes('photo.jpg', await makeImage({ width: 320, height: 200 }), 'image/jpeg');
    system.origin.serveBytes('photo.tiff', await makeImage({ width: 320, height: 200, format: 'tiff' }), 'image/tiff');
  }, 60_000);

  afterAll(async () => {
    await system?.stop();
  });

  const probesAndRenders = () => {
    const [normal, big] = [system.worker.stats(), system.bigWorker.stats()];
    return { probes: normal.maxActiveProbes + big.maxActiveProbes, renders: normal.maxActiveRenders + big.maxActiveRenders };
  };

  it('reads a JPEG header in the worker, and probes a format it leaves to libvips in a render child', async () => {
    const jpeg = await system.getImage('/bytes/photo.jpg', { no_image: 'true' });
    expect(jpeg.status).toBe(200);
    expect(await jpeg.json()).toMatchObject({ width: 320, height: 200 });
    expect(probesAndRenders()).toEqual({ probes: 0, renders: 0 });

    const tiff = await system.getImage('/bytes/photo.tiff', { no_image: 'true' });
    expect(tiff.status).toBe(200);
    expect(await tiff.json()).toMatchObject({ width: 320, height: 200 });
    expect(probesAndRenders()).toEqual({ probes: 1, renders: 0 });
  }, 30_000);

  it('refuses an output over the pixel limit with 422 before any render', async () => {
    const response = await system.getImage('/bytes/pixel.png', { resize_width: '10000', resize_height: '10000', keep_aspect_ratio: 'false' });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { error: string; message: string };
    expect(body.error).toBe('image_too_large');
    expect(body.message).toBe(
      'The requested output is 10000x10000 = 100000000 pixels, over the output limit of 40000000; ask for a smaller size.',
    );
    expect(probesAndRenders().renders).toBe(0);
  }, 30_000);

  it('refuses an encoded output over the byte limit with 422 and does not store it', async () => {
    const transform = { width: 300, fit: 'inside', format: 'tiff' } as const;
    const response = await system.getImage('/bytes/noise.jpg', { resize_width: '300', format_when_resize: 'tiff' });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ error: 'image_too_large' });
    expect(probesAndRenders().renders).toBe(1);

    const job = renderJobFor(system.origin.url('/bytes/noise.jpg'), 'sync-normal', transform);
    const storage = new LocalDirectoryStorage({ dataDir: system.config.dataDir });
    expect(await storage.getVariantMeta(job.originalKey, job.variantKey)).toBeNull();
    // The same variant as JPEG is small enough.
    const jpeg = await system.getImage('/bytes/noise.jpg', { resize_width: '100' });
    expect(jpeg.status).toBe(200);
    await bodyOf(jpeg);
  }, 30_000);
});
