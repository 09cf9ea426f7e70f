import { BLUE, RED, WHITE, decodeImage, isColorClose, makeAnimation, makeImage, makeOrientedJpeg, truncate } from '@image-cloud/imaging/testing';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

let system: SystemUnderTest;

beforeAll(async () => {
  system = await startSystem({ name: 'get-image' });
  const { origin } = system;
  origin.serveBytes('photo.jpg', await makeImage({ width: 800, height: 600, color: BLUE }), 'image/jpeg');
  origin.serveBytes('wide.png', await makeImage({ width: 1000, height: 250, format: 'png', color: BLUE }), 'image/png');
  origin.serveBytes('small.png', await makeImage({ width: 40, height: 20, format: 'png', color: RED }), 'image/png');
  origin.serveBytes('transparent.png', await makeImage({ width: 64, height: 64, format: 'png', color: BLUE, alpha: 0 }), 'image/png');
  origin.serveBytes('oriented-6.jpg', await makeOrientedJpeg(300, 200, 6), 'image/jpeg');
  origin.serveBytes('animated.gif', await makeAnimation({ width: 120, height: 60, frames: 5 }), 'image/gif');
  origin.serveBytes('animated.webp', await makeAnimation({ width: 120, height: 60, frames: 4, format: 'webp' }), 'image/webp');
  origin.serveBytes('png-named-jpg.jpg', await makeImage({ width: 100, height: 50, format: 'png' }), 'image/jpeg');
  origin.serveBytes('truncated.jpg', truncate(await makeImage({ width: 1200, height: 900 }), 4000), 'image/jpeg');
  origin.serveBytes('not-an-image.jpg', Buffer.from('<html><body>Sorry</body></html>'), 'image/jpeg');
  origin.serveBytes('empty.png', Buffer.alloc(0), 'image/png');
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

async function expectImage(response: Response, expected: { format: string; width: number; height: number }) {
  expect(response.status).toBe(200);
  const body = await bodyOf(response);
  expect(Number(response.headers.get('content-length'))).toBe(body.length);
  const decoded = await decodeImage(body);
  expect({ format: decoded.format, width: decoded.width, height: decoded.height }).toEqual(expected);
  return decoded;
}

async function expectError(response: Response, status: number, code: string, messagePattern?: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: string; message: string };
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe('string');
  if (messagePattern) expect(body.message).toMatch(messagePattern);
  return body;
}

describe('get_image resizing', () => {
  it('fits inside the box as JPEG by default, then serves the cached variant', async () => {
    const first = await system.getImage('/bytes/photo.jpg', { resize_width: '200', resize_height: '200' });
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('content-type')).toBe('image/jpeg');
    expect(first.headers.get('etag')).toMatch(/^"[0-9a-f]{64}"$/);
    expect(first.headers.get('cache-control')).toMatch(/max-age=\d+/);
    await expectImage(first, { format: 'jpeg', width: 200, height: 150 });

    const hitsBefore = system.origin.hits('/bytes/photo.jpg');
    const jobsBefore = await system.jobsCreated();
    const second = await system.getImage('/bytes/photo.jpg', { resize_width: '200', resize_height: '200' });
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    await expectImage(second, { format: 'jpeg', width: 200, height: 150 });
    expect(system.origin.hits('/bytes/photo.jpg')).toBe(hitsBefore);
    expect(await system.jobsCreated()).toBe(jobsBefore);
  });

  it('applies EXIF orientation', async () => {
    // Stored 300x200 with orientation 6: displayed 200x300, red half on top.
    const decoded = await expectImage(await system.getImage('/bytes/oriented-6.jpg', { resize_width: '100', resize_height: '100' }), {
      format: 'jpeg',
      width: 67,
      height: 100,
    });
    expect(isColorClose(decoded.pixel(33, 10), RED)).toBe(true);
    expect(isColorClose(decoded.pixel(33, 90), BLUE)).toBe(true);
  });

  it('resizes to a width only or a height only', async () => {
    await expectImage(await system.getImage('/bytes/wide.png', { resize_width: '200' }), { format: 'jpeg', width: 200, height: 50 });
    await expectImage(await system.getImage('/bytes/wide.png', { resize_height: '100' }), { format: 'jpeg', width: 400, height: 100 });
  });

  it('never enlarges when keeping the aspect ratio', async () => {
    await expectImage(await system.getImage('/bytes/small.png', { resize_width: '200', resize_height: '200' }), { format: 'jpeg', width: 40, height: 20 });
  });

  it('stretches to exactly W×H with keep_aspect_ratio=false', async () => {
    await expectImage(await system.getImage('/bytes/wide.png', { resize_width: '120', resize_height: '90', keep_aspect_ratio: 'false' }), {
      format: 'jpeg',
      width: 120,
      height: 90,
    });
    await expectImage(await system.getImage('/bytes/small.png', { resize_width: '80', resize_height: '80', keep_aspect_ratio: '0' }), {
      format: 'jpeg',
      width: 80,
      height: 80,
    });
  });

  it('centres the image on a white canvas of exactly W×H with force_to_size', async () => {
    const decoded = await expectImage(await system.getImage('/bytes/wide.png', { resize_width: '200', resize_height: '200', force_to_size: 'TRUE' }), {
      format: 'jpeg',
      width: 200,
      height: 200,
    });
    expect(isColorClose(decoded.pixel(100, 10), WHITE)).toBe(true);
    expect(isColorClose(decoded.pixel(100, 100), BLUE)).toBe(true);
    expect(isColorClose(decoded.pixel(100, 190), WHITE)).toBe(true);
  });

  it.each([
    ['jpeg', 'image/jpeg', 'jpeg'],
    ['png', 'image/png', 'png'],
    ['webp', 'image/webp', 'webp'],
    ['avif', 'image/avif', 'heif'],
    ['gif', 'image/gif', 'gif'],
    ['tiff', 'image/tiff', 'tiff'],
  ])('encodes format_when_resize=%s', async (format, contentType, decodedFormat) => {
    const response = await system.getImage('/bytes/photo.jpg', { resize_width: '64', format_when_resize: format });
    expect(response.headers.get('content-type')).toBe(contentType);
    await expectImage(response, { format: decodedFormat, width: 64, height: 48 });
  });

  it('flattens transparency onto white for JPEG', async () => {
    const decoded = await expectImage(await system.getImage('/bytes/transparent.png', { resize_width: '32' }), { format: 'jpeg', width: 32, height: 32 });
    expect(isColorClose(decoded.pixel(16, 16), WHITE)).toBe(true);
  });

  it.each([
    ['gif', 5],
    ['webp', 4],
  ])('keeps the animation frames of an animated %s', async (format, frames) => {
    const response = await system.getImage(`/bytes/animated.${format}`, { resize_width: '60', format_when_resize: format });
    const decoded = await expectImage(response, { format, width: 60, height: 30 });
    expect(decoded.frames).toBe(frames);
  });

  it('says which lane rendered the variant', async () => {
    const response = await system.getImage('/bytes/photo.jpg', { resize_width: '33' });
    expect(response.headers.get('x-lane')).toBe('normal');
  });
});

describe('get_image without a transform', () => {
  it('returns the original bytes untouched with the sniffed content type', async () => {
    const response = await system.getImage('/bytes/photo.jpg');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    const body = await bodyOf(response);
    const direct = await bodyOf(await fetch(system.origin.url('/bytes/photo.jpg')));
    expect(body.equals(direct)).toBe(true);
  });

  it('trusts the bytes, not the origin: a PNG named .jpg is served as image/png', async () => {
    const response = await system.getImage('/bytes/png-named-jpg.jpg');
    expect(response.headers.get('content-type')).toBe('image/png');
  });
});

describe('no_image, only_send_if_local, image_info', () => {
  it('answers JSON metadata with no_image and caches the original', async () => {
    system.origin.serveBytes('meta.png', await makeImage({ width: 320, height: 240, format: 'png' }), 'image/png');
    const response = await system.getImage('/bytes/meta.png', { no_image: 'true' });
    expect(response.status).toBe(200);
    const info = (await response.json()) as { bytes: number };
    expect(info).toMatchObject({ width: 320, height: 240, format: 'png', contentType: 'image/png', frames: 1 });
    expect(info.bytes).toBeGreaterThan(0);
    const local = await system.getImage('/bytes/meta.png', { only_send_if_local: 'true' });
    expect(local.status).toBe(200);
    expect(local.headers.get('x-cache')).toBe('HIT');
  });

  it('answers 404 not_cached with only_send_if_local and never fetches', async () => {
    system.origin.serveBytes('never.png', await makeImage({ width: 10, height: 10, format: 'png' }), 'image/png');
    await expectError(await system.getImage('/bytes/never.png', { only_send_if_local: '1' }), 404, 'not_cached');
    await expectError(await system.getImage('/bytes/never.png', { only_send_if_local: '1', resize_width: '5' }), 404, 'not_cached');
    expect(system.origin.hits('/bytes/never.png')).toBe(0);
  });

  it('renders a new size from a cached original with only_send_if_local', async () => {
    system.origin.serveBytes('local-render.png', await makeImage({ width: 300, height: 300, format: 'png' }), 'image/png');
    expect((await system.getImage('/bytes/local-render.png')).status).toBe(200);
    const hits = system.origin.hits('/bytes/local-render.png');
    await expectImage(await system.getImage('/bytes/local-render.png', { only_send_if_local: 'true', resize_width: '50' }), {
      format: 'jpeg',
      width: 50,
      height: 50,
    });
    expect(system.origin.hits('/bytes/local-render.png')).toBe(hits);
  });

  it('tells width, height, format, bytes and frames with image_info', async () => {
    const response = await system.request(`/image_info?url=${encodeURIComponent(system.origin.url('/bytes/animated.gif'))}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ width: 120, height: 60, format: 'gif', frames: 5 });
    const oriented = await system.request(`/image_info?url=${encodeURIComponent(system.origin.url('/bytes/oriented-6.jpg'))}`);
    expect(await oriented.json()).toMatchObject({ width: 200, height: 300, format: 'jpeg' });
  });
});

describe('get_thumbnail', () => {
  it('serves the configured square sizes', async () => {
    const response = await system.request(`/get_thumbnail?url=${encodeURIComponent(system.origin.url('/bytes/photo.jpg'))}&size=250`);
    await expectImage(response, { format: 'jpeg', width: 250, height: 188 });
  });

  it('refuses sizes that are not configured, naming the allowed ones', async () => {
    const response = await system.request(`/get_thumbnail?url=${encodeURIComponent(system.origin.url('/bytes/photo.jpg'))}&size=300`);
    await expectError(response, 400, 'bad_parameter', /"size" must be one of 200, 250/);
  });
});

describe('errors', () => {
  it.each([
    [{}, /"url" is required/],
    [{ url: 'ftp://example.com/a.jpg' }, /"url" must use http or https/],
    [{ url: 'not a url' }, /"url" must be an absolute http\(s\) URL/],
    [{ url: 'http://127.0.0.1/a.jpg', resize_width: 'abc' }, /"resize_width" must be a whole number/],
    [{ url: 'http://127.0.0.1/a.jpg', resize_width: '0' }, /"resize_width" must be a whole number from 1/],
    [{ url: 'http://127.0.0.1/a.jpg', resize_height: '100000' }, /"resize_height" must be a whole number from 1 to 10000/],
    [{ url: 'http://127.0.0.1/a.jpg', resize_width: '10', keep_aspect_ratio: 'yes' }, /"keep_aspect_ratio" must be true, false, 1 or 0/],
    [{ url: 'http://127.0.0.1/a.jpg', resize_width: '10', format_when_resize: 'jp2' }, /"format_when_resize" must be one of/],
    [{ url: 'http://127.0.0.1/a.jpg', resize_width: '10', force_to_size: 'true' }, /"force_to_size" needs both/],
  ])('answers 400 bad_parameter naming the parameter for %j', async (params, message) => {
    await expectError(await system.request(`/get_image?${new URLSearchParams(params as Record<string, string>)}`), 400, 'bad_parameter', message);
  });

  it('refuses a repeated parameter', async () => {
    await expectError(await system.request('/get_image?url=http://a/b.jpg&url=http://c/d.jpg'), 400, 'bad_parameter', /more than once/);
  });

  it('answers 404 origin_not_found when the origin says 404 or 410, and remembers it briefly', async () => {
    await expectError(await system.getImage('/status/404', { resize_width: '10' }), 404, 'origin_not_found');
    const hits = system.origin.hits('/status/404');
    const again = await system.getImage('/status/404', { resize_width: '10' });
    await expectError(again, 404, 'origin_not_found');
    expect(again.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect(system.origin.hits('/status/404')).toBe(hits);
    await expectError(await system.getImage('/status/410'), 404, 'origin_not_found');
  });

  it('answers 502 origin_error for origin 5xx and unreachable origins, and does not cache it', async () => {
    const response = await system.getImage('/status/500', { resize_width: '10' });
    await expectError(response, 502, 'origin_error');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const hits = system.origin.hits('/status/500');
    await expectError(await system.getImage('/status/500', { resize_width: '10' }), 502, 'origin_error');
    expect(system.origin.hits('/status/500')).toBe(hits + 1);
    await expectError(await system.request(`/get_image?url=${encodeURIComponent('http://127.0.0.1:1/x.jpg')}`), 502, 'origin_error');
  });

  it('answers 415 unsupported_format for something that is not an image', async () => {
    await expectError(await system.getImage('/html', { resize_width: '10' }), 415, 'unsupported_format');
    await expectError(await system.getImage('/bytes/not-an-image.jpg'), 415, 'unsupported_format');
    await expectError(await system.getImage('/bytes/empty.png', { resize_width: '10' }), 415, 'unsupported_format');
  });

  it('answers 422 image_corrupt for a truncated image', async () => {
    await expectError(await system.getImage('/bytes/truncated.jpg', { resize_width: '100' }), 422, 'image_corrupt');
  });

  it('answers 504 origin_timeout for an origin that is too slow', async () => {
    await expectError(await system.getImage('/slow?ms=2500'), 504, 'origin_timeout');
  });

  it('answers unknown endpoints with a JSON 404', async () => {
    await expectError(await system.request('/nope'), 404, 'not_found');
  });

  it('keeps serving after all of that', async () => {
    expect((await system.request('/healthz')).status).toBe(200);
    expect((await system.request('/readyz')).status).toBe(200);
    await expectImage(await system.getImage('/bytes/photo.jpg', { resize_width: '77' }), { format: 'jpeg', width: 77, height: 58 });
  });
});
