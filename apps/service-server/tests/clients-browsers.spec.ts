import { setTimeout as sleep } from 'node:timers/promises';
import { thumbHashToApproximateAspectRatio, thumbHashToRGBA } from 'thumbhash';
import { BLUE, WHITE, decodeImage, isColorClose, makeImage, makeOrientedJpeg } from '@image-cloud/imaging/testing';
import { signRequest } from '@image-cloud/tenant-auth';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/** Issue 9: every existing client keeps working, and browsers get the modern web. */

const CHROME_ACCEPT = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
const OLD_SAFARI_ACCEPT = 'image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5';

async function expectBadParameter(response: Response, naming: string): Promise<string> {
  expect(response.status).toBe(400);
  const body = (await response.json()) as { error: string; message: string };
  expect(body.error).toBe('bad_parameter');
  expect(body.message).toContain(`"${naming}"`);
  return body.message;
}

async function decoded(response: Response) {
  expect(response.status).toBe(200);
  return decodeImage(await bodyOf(response));
}

describe('an open cloud', () => {
  let system: SystemUnderTest;

  beforeAll(async () => {
    system = await startSystem({ name: 'clients-browsers' });
    system.origin.serveBytes('photo.jpg', await makeImage({ width: 400, height: 300, color: BLUE }), 'image/jpeg');
    system.origin.serveBytes('glass.png', await makeImage({ width: 200, height: 100, format: 'png', alpha: 0.5 }), 'image/png');
    system.origin.serveBytes('rotated.jpg', await makeOrientedJpeg(60, 40, 6), 'image/jpeg');
    system.origin.serveBytes('wide.jpg', await makeImage({ width: 300, height: 100 }), 'image/jpeg');
    system.origin.serveBytes('prefetched.png', await makeImage({ width: 80, height: 40, format: 'png', alpha: 0.25 }), 'image/png');
  }, 30_000);

  afterAll(async () => {
    await system?.stop();
  });

  describe('format_when_resize', () => {
    it.each([
      ['JPG', 'image/jpeg', 'jpeg'],
      ['Jpeg', 'image/jpeg', 'jpeg'],
      ['PNG', 'image/png', 'png'],
      ['gif', 'image/gif', 'gif'],
      ['TIF', 'image/tiff', 'tiff'],
      ['tiff', 'image/tiff', 'tiff'],
      ['WEBP', 'image/webp', 'webp'],
      ['avif', 'image/avif', 'heif'],
    ])('%s answers %s', async (name, contentType, decodedFormat) => {
      const response = await system.getImage('/bytes/photo.jpg', { resize_width: '40', format_when_resize: name });
      expect(response.headers.get('content-type')).toBe(contentType);
      expect(response.headers.get('vary')).toBeNull();
      const image = await decoded(response);
      expect(image).toMatchObject({ format: decodedFormat, width: 40, height: 30 });
    });

    it('bmp answers a BMP written by the cloud: 24-bit for an opaque image, 32-bit with alpha', async () => {
      const opaque = await system.getImage('/bytes/photo.jpg', { resize_width: '40', format_when_resize: 'BMP' });
      expect(opaque.status).toBe(200);
      expect(opaque.headers.get('content-type')).toBe('image/bmp');
      const bytes = await bodyOf(opaque);
      expect(bytes.toString('latin1', 0, 2)).toBe('BM');
      expect([bytes.readUInt32LE(2), bytes.readInt32LE(18), bytes.readInt32LE(22), bytes.readUInt16LE(28)]).toEqual([bytes.length, 40, 30, 24]);
      expect(Number(opaque.headers.get('content-length'))).toBe(bytes.length);
      // Bottom-up rows: the first pixel stored is the bottom-left one, blue (BGR order).
      const [b, g, r] = bytes.subarray(bytes.readUInt32LE(10), bytes.readUInt32LE(10) + 3);
      expect(isColorClose({ r, g, b }, BLUE)).toBe(true);

      const withAlpha = await bodyOf(await system.getImage('/bytes/glass.png', { resize_width: '20', format_when_resize: 'bmp' }));
      expect([withAlpha.readUInt32LE(14), withAlpha.readUInt16LE(28), withAlpha.readUInt32LE(30), withAlpha.readUInt32LE(66)]).toEqual([108, 32, 3, 0xff000000]);
    });

    it('an unknown name is a 400 listing the accepted names', async () => {
      const message = await expectBadParameter(await system.getImage('/bytes/photo.jpg', { resize_width: '40', format_when_resize: 'jp2' }), 'format_when_resize');
      expect(message).toBe('Parameter "format_when_resize" must be one of jpeg, png, webp, avif, gif, tiff, bmp, auto, but received "jp2".');
    });
  });

  describe('booleans as the old Python service read them', () => {
    it.each(['False', 'false', 'FALSE', '0'])('keep_aspect_ratio=%s stretches to exactly the box', async (value) => {
      const image = await decoded(await system.getImage('/bytes/photo.jpg', { resize_width: '100', resize_height: '100', keep_aspect_ratio: value }));
      expect([image.width, image.height]).toEqual([100, 100]);
    });

    it.each(['True', 'true', 'TRUE', '1'])('keep_aspect_ratio=%s fits inside the box', async (value) => {
      const image = await decoded(await system.getImage('/bytes/photo.jpg', { resize_width: '100', resize_height: '100', keep_aspect_ratio: value }));
      expect([image.width, image.height]).toEqual([100, 75]);
    });

    it('anything else is a 400 naming the parameter', async () => {
      await expectBadParameter(await system.getImage('/bytes/photo.jpg', { resize_width: '100', force_to_size: 'yes' }), 'force_to_size');
    });
  });

  it('force_to_size=true with keep_aspect_ratio=false: exactly the box, fitted and centred on white (force_to_size wins)', async () => {
    const image = await decoded(await system.getImage('/bytes/photo.jpg', { resize_width: '200', resize_height: '100', force_to_size: 'True', keep_aspect_ratio: 'False' }));
    expect([image.width, image.height]).toEqual([200, 100]);
    // 400x300 fitted into 200x100 is 133x100, centred: white bands left and right, the photo in the middle.
    expect(isColorClose(image.pixel(5, 50), WHITE)).toBe(true);
    expect(isColorClose(image.pixel(195, 50), WHITE)).toBe(true);
    expect(isColorClose(image.pixel(100, 50), BLUE)).toBe(true);
  });

  it.each([200, 250])('get_thumbnail serves size %i: a square box, as JPEG', async (size) => {
    const response = await system.request(`/get_thumbnail?url=${encodeURIComponent(system.origin.url('/bytes/wide.jpg'))}&size=${size}`);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    const image = await decoded(response);
    // Never enlarged: the 300x100 original fits a 200 box as 200x67 and a 250 box as 250x83.
    expect([image.width, image.height]).toEqual([size, Math.round((100 * size) / 300)]);
  });

  describe('format_when_resize=auto', () => {
    const auto = (path: string, accept?: string, extra: Record<string, string> = {}, method = 'GET') =>
      system.getImage(path, { resize_width: '40', format_when_resize: 'auto', ...extra }, { method, headers: accept === undefined ? {} : { accept } });

    it.each([
      [CHROME_ACCEPT, 'image/avif', 'heif'],
      ['image/webp,*/*', 'image/webp', 'webp'],
      ['image/avif;q=0.4,image/webp;q=0.9', 'image/webp', 'webp'],
      ['*/*', 'image/jpeg', 'jpeg'],
      ['image/*', 'image/jpeg', 'jpeg'],
      [OLD_SAFARI_ACCEPT, 'image/jpeg', 'jpeg'],
      [undefined, 'image/jpeg', 'jpeg'],
    ])('Accept %s gets %s, with Vary: Accept', async (accept, contentType, decodedFormat) => {
      const response = await auto('/bytes/photo.jpg', accept);
      expect(response.headers.get('content-type')).toBe(contentType);
      expect(response.headers.get('vary')).toBe('Accept');
      expect((await decoded(response)).format).toBe(decodedFormat);
    });

    it('keeps alpha: PNG when the client accepts neither AVIF nor WebP, else AVIF/WebP with alpha', async () => {
      const png = await auto('/bytes/glass.png', OLD_SAFARI_ACCEPT);
      expect(png.headers.get('content-type')).toBe('image/png');
      expect(await decoded(png)).toMatchObject({ format: 'png', hasAlpha: true });
      const webp = await auto('/bytes/glass.png', 'image/webp,*/*');
      expect(await decoded(webp)).toMatchObject({ format: 'webp', hasAlpha: true });
    });

    it('each negotiated format is its own variant, and 304s and HEADs carry Vary: Accept too', async () => {
      const avif = await auto('/bytes/photo.jpg', CHROME_ACCEPT, { v: 'etags' });
      const webp = await auto('/bytes/photo.jpg', 'image/webp', { v: 'etags' });
      const jpeg = await auto('/bytes/photo.jpg', '*/*', { v: 'etags' });
      await Promise.all([bodyOf(avif), bodyOf(webp), bodyOf(jpeg)]);
      const etags = [avif, webp, jpeg].map((response) => response.headers.get('etag'));
      expect(new Set(etags).size).toBe(3);
      // The negotiated JPEG is the same variant as asking for jpeg by name.
      const named = await system.getImage('/bytes/photo.jpg', { resize_width: '40', format_when_resize: 'jpeg', v: 'etags' });
      expect(named.headers.get('etag')).toBe(etags[2]);
      expect(named.headers.get('vary')).toBeNull();
      await bodyOf(named);

      const notModified = await system.getImage('/bytes/photo.jpg', { resize_width: '40', format_when_resize: 'auto', v: 'etags' }, { headers: { accept: CHROME_ACCEPT, 'if-none-match': etags[0]! } });
      expect(notModified.status).toBe(304);
      expect(notModified.headers.get('vary')).toBe('Accept');
      const head = await auto('/bytes/photo.jpg', 'image/webp', { v: 'etags' }, 'HEAD');
      expect(head.status).toBe(200);
      expect(head.headers.get('vary')).toBe('Accept');
      expect(head.headers.get('content-type')).toBe('image/webp');
    });

    it('errors of a negotiated URL carry Vary: Accept too (a CDN caches the final ones)', async () => {
      for (const accept of [CHROME_ACCEPT, '*/*']) {
        const missing = await auto('/status/404', accept);
        expect(missing.status).toBe(404);
        expect(missing.headers.get('vary')).toBe('Accept');
        expect(((await missing.json()) as { error: string }).error).toBe('origin_not_found');
      }
    });

    it('answers without Vary: Accept when nothing was negotiated (originals, named formats, thumbnails, image_info)', async () => {
      for (const response of [
        await system.getImage('/bytes/photo.jpg', {}, { headers: { accept: CHROME_ACCEPT } }),
        await system.getImage('/bytes/photo.jpg', { resize_width: '40' }, { headers: { accept: CHROME_ACCEPT } }),
        await system.request(`/get_thumbnail?url=${encodeURIComponent(system.origin.url('/bytes/photo.jpg'))}&size=200`, { headers: { accept: CHROME_ACCEPT } }),
        await system.request(`/image_info?url=${encodeURIComponent(system.origin.url('/bytes/photo.jpg'))}`, { headers: { accept: CHROME_ACCEPT } }),
      ]) {
        expect(response.status).toBe(200);
        expect(response.headers.get('vary')).toBeNull();
        await bodyOf(response);
      }
    });
  });

  describe('dpr and quality', () => {
    it('dpr multiplies the box; dpr=1 is the same variant as no dpr', async () => {
      const retina = await decoded(await system.getImage('/bytes/photo.jpg', { resize_width: '100', dpr: '2' }));
      expect([retina.width, retina.height]).toEqual([200, 150]);
      const oneAndHalf = await decoded(await system.getImage('/bytes/photo.jpg', { resize_width: '100', resize_height: '100', keep_aspect_ratio: 'false', dpr: '1.5' }));
      expect([oneAndHalf.width, oneAndHalf.height]).toEqual([150, 150]);
      const plain = await system.getImage('/bytes/photo.jpg', { resize_width: '100' });
      const dprOne = await system.getImage('/bytes/photo.jpg', { resize_width: '100', dpr: '1' });
      expect(dprOne.headers.get('etag')).toBe(plain.headers.get('etag'));
      await Promise.all([bodyOf(plain), bodyOf(dprOne)]);
    });

    it('quality changes the variant only when it changes the output', async () => {
      const plain = await system.getImage('/bytes/wide.jpg', { resize_width: '120' });
      const configured = await system.getImage('/bytes/wide.jpg', { resize_width: '120', quality: String(system.config.worker.quality) });
      const low = await system.getImage('/bytes/wide.jpg', { resize_width: '120', quality: '5' });
      const [plainBytes, , lowBytes] = await Promise.all([bodyOf(plain), bodyOf(configured), bodyOf(low)]);
      expect(configured.headers.get('etag')).toBe(plain.headers.get('etag'));
      expect(low.headers.get('etag')).not.toBe(plain.headers.get('etag'));
      expect(lowBytes.length).toBeLessThan(plainBytes.length);
      // A lossless format ignores quality: one variant.
      const png = await system.getImage('/bytes/wide.jpg', { resize_width: '120', format_when_resize: 'png' });
      const pngQuality = await system.getImage('/bytes/wide.jpg', { resize_width: '120', format_when_resize: 'png', quality: '5' });
      expect(pngQuality.headers.get('etag')).toBe(png.headers.get('etag'));
      await Promise.all([bodyOf(png), bodyOf(pngQuality)]);
    });

    it.each([
      [{ dpr: '0' }, 'dpr'],
      [{ dpr: '4.5' }, 'dpr'],
      [{ dpr: 'retina' }, 'dpr'],
      [{ resize_width: '3000', dpr: '4' }, 'dpr'],
      [{ quality: '0' }, 'quality'],
      [{ quality: '101' }, 'quality'],
      [{ quality: 'high' }, 'quality'],
    ])('%j is a 400 naming %s', async (params, name) => {
      await expectBadParameter(await system.getImage('/bytes/photo.jpg', { resize_width: '100', ...params }), name);
    });
  });

  describe('image_info layout metadata', () => {
    const info = async (path: string) => {
      const response = await system.request(`/image_info?url=${encodeURIComponent(system.origin.url(path))}`);
      expect(response.status).toBe(200);
      return { cache: response.headers.get('x-cache'), body: (await response.json()) as Record<string, unknown> };
    };
    const aspectOf = (thumbHash: unknown) => {
      const hash = Buffer.from(String(thumbHash), 'base64');
      const { w, h } = thumbHashToRGBA(hash);
      return { ratio: thumbHashToApproximateAspectRatio(hash), w, h };
    };

    it('gives display size after EXIF orientation, alpha, dominant colour and a ThumbHash of the right aspect', async () => {
      const rotated = (await info('/bytes/rotated.jpg')).body;
      // Stored 60x40, EXIF orientation 6: displayed 40x60.
      expect(rotated).toMatchObject({ width: 40, height: 60, displayWidth: 40, displayHeight: 60, orientation: 6, hasAlpha: false, format: 'jpeg' });
      expect(aspectOf(rotated['thumbHash']).h).toBeGreaterThan(aspectOf(rotated['thumbHash']).w);

      const glass = (await info('/bytes/glass.png')).body;
      expect(glass).toMatchObject({ displayWidth: 200, displayHeight: 100, hasAlpha: true });
      expect(glass['dominantColor']).toMatch(/^#[0-9a-f]{6}$/);
      expect(aspectOf(glass['thumbHash']).ratio).toBeCloseTo(2, 0);
    });

    it('computes the placeholders once for an original get_image stored without them, then serves them from its metadata', async () => {
      await bodyOf(await system.getImage('/bytes/wide.jpg'));
      const first = await info('/bytes/wide.jpg');
      expect(first.cache).toBe('MISS');
      expect(first.body['dominantColor']).toMatch(/^#[0-9a-f]{6}$/);
      // ThumbHash keeps the aspect ratio approximately (it is quantized): 300x100 is clearly wide, about 3.
      expect(aspectOf(first.body['thumbHash']).ratio).toBeGreaterThan(2.5);
      expect(aspectOf(first.body['thumbHash']).ratio).toBeLessThan(3.6);
      const second = await info('/bytes/wide.jpg');
      expect(second).toEqual({ ...first, cache: 'HIT' });
    });

    it('a fire_and_forget with "placeholders": true computes them ahead', async () => {
      const url = system.origin.url('/bytes/prefetched.png');
      const submitted = await system.request('/fire_and_forget', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ urls: [url], placeholders: true }),
      });
      expect(submitted.status).toBe(202);
      const { batchId } = (await submitted.json()) as { batchId: string };
      for (let waited = 0; ; waited += 100) {
        const progress = (await (await system.request(`/fire_and_forget/${batchId}`)).json()) as { complete: boolean; done: number };
        if (progress.complete) {
          expect(progress.done).toBe(1);
          break;
        }
        if (waited > 20_000) throw new Error('the prefetch did not finish');
        await sleep(100);
      }
      const prefetched = await info('/bytes/prefetched.png');
      expect(prefetched.cache).toBe('HIT');
      expect(prefetched.body).toMatchObject({ displayWidth: 80, displayHeight: 40, hasAlpha: true });
      expect(aspectOf(prefetched.body['thumbHash']).ratio).toBeCloseTo(2, 0);
    });

    it('refuses a placeholders option that is not a boolean', async () => {
      const response = await system.request('/fire_and_forget', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ urls: [system.origin.url('/bytes/photo.jpg')], placeholders: 'sometimes' }),
      });
      await expectBadParameter(response, 'placeholders');
    });
  });

  it('reads use_alternativ_clouds on get_image and get_thumbnail; both spellings with different values are a 400', async () => {
    const thumbnail = await system.request(`/get_thumbnail?url=${encodeURIComponent(system.origin.url('/bytes/photo.jpg'))}&size=200&use_alternativ_clouds=False`);
    expect(thumbnail.status).toBe(200);
    await bodyOf(thumbnail);
    await expectBadParameter(await system.getImage('/bytes/photo.jpg', { use_alternativ_clouds: 'true', use_alternative_clouds: 'false' }), 'use_alternative_clouds');
    await expectBadParameter(
      await system.request(`/get_thumbnail?url=${encodeURIComponent(system.origin.url('/bytes/photo.jpg'))}&size=200&use_alternativ_clouds=1&use_alternative_clouds=0`),
      'use_alternative_clouds',
    );
  });
});

describe('a cloud whose signed URLs negotiate (server.signedUrlFormat: auto)', () => {
  const KEY = 'signing-key-0123456789abcdef';
  let system: SystemUnderTest;

  beforeAll(async () => {
    system = await startSystem({
      name: 'clients-browsers-signed',
      config: {
        tenants: { shop: { token: 'shop-token-0123456789abcdef' } },
        signingKeys: [KEY],
        server: { waitTimeoutMs: 15_000, pollIntervalMs: 200, signedUrlFormat: 'auto' },
      },
    });
    system.origin.serveBytes('photo.jpg', await makeImage({ width: 400, height: 300 }), 'image/jpeg');
  }, 30_000);

  afterAll(async () => {
    await system?.stop();
  });

  const signed = (path: string, params: Record<string, string>) =>
    signRequest({ path, params: { url: system.origin.url('/bytes/photo.jpg'), ...params }, tenant: 'shop', expiresAt: Math.floor(Date.now() / 1000) + 600, key: KEY });

  it('a signed URL without a format negotiates: AVIF for Chrome, JPEG for */*, with Vary: Accept', async () => {
    const url = signed('/get_image', { resize_width: '60' });
    const chrome = await system.request(url, { headers: { accept: CHROME_ACCEPT } });
    expect(chrome.headers.get('vary')).toBe('Accept');
    expect((await decoded(chrome)).format).toBe('heif');
    const any = await system.request(url, { headers: { accept: '*/*' } });
    expect(any.headers.get('vary')).toBe('Accept');
    expect((await decoded(any)).format).toBe('jpeg');
    const thumbnail = await system.request(signed('/get_thumbnail', { size: '200' }), { headers: { accept: 'image/webp,*/*' } });
    expect(thumbnail.headers.get('vary')).toBe('Accept');
    expect((await decoded(thumbnail)).format).toBe('webp');
  });

  it('a signed URL naming a format, and a token request without one, are not negotiated', async () => {
    const named = await system.request(signed('/get_image', { resize_width: '60', format_when_resize: 'png' }), { headers: { accept: CHROME_ACCEPT } });
    expect(named.headers.get('vary')).toBeNull();
    expect((await decoded(named)).format).toBe('png');
    const query = new URLSearchParams({ url: system.origin.url('/bytes/photo.jpg'), resize_width: '60' });
    const token = await system.request(`/get_image?${query}`, { headers: { accept: CHROME_ACCEPT, authorization: 'Bearer shop-token-0123456789abcdef' } });
    expect(token.headers.get('vary')).toBeNull();
    expect((await decoded(token)).format).toBe('jpeg');
  });

  it('a signed URL with the old spelling use_alternativ_clouds is read like the new one', async () => {
    const response = await system.request(signed('/get_image', { resize_width: '60', use_alternativ_clouds: 'True' }), { headers: { accept: '*/*' } });
    expect(response.status).toBe(200);
    await bodyOf(response);
  });
});
