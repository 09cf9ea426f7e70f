import { randomBytes } from 'node:crypto';
import { makeImage } from '@image-cloud/imaging/testing';
import { signRequest } from '@image-cloud/tenant-auth';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/** What a CDN and browsers see: validators, Cache-Control per kind of answer, 304s, HEAD, Content-Length. */

const TOKEN = 'caching-token-0123456789abcdef';
const KEY = 'caching-signing-key-0123456789';
const NEGATIVE_CACHE_SECONDS = 45;
const YEAR = 31_536_000;

/** The headers a HEAD must answer exactly as its GET does. */
const REPRESENTATION_HEADERS = ['content-type', 'content-length', 'etag', 'last-modified', 'cache-control', 'x-content-type-options'];

let system: SystemUnderTest;

beforeAll(async () => {
  system = await startSystem({
    name: 'http-caching',
    config: {
      tenants: { shop: { token: TOKEN, requestsPerSecond: 10_000, burst: 10_000 } },
      signingKeys: [KEY],
      server: { waitTimeoutMs: 15_000, pollIntervalMs: 200, negativeCacheSeconds: NEGATIVE_CACHE_SECONDS },
    },
  });
  system.origin.serveBytes('photo.jpg', await makeImage({ width: 400, height: 300 }), 'image/jpeg');
  system.origin.serveBytes('other.jpg', await makeImage({ width: 300, height: 200 }), 'image/jpeg');
  // Over the size storage answers from memory, so its ranges are cut from a stream; decoders ignore what follows the end marker.
  system.origin.serveBytes('large.jpg', Buffer.concat([await makeImage({ width: 300, height: 200 }), randomBytes(600_000)]), 'image/jpeg');
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

/** `path?url=<origin>&…&token=…` */
function pathFor(path: string, originPath: string, params: Record<string, string> = {}): string {
  return `${path}?${new URLSearchParams({ url: system.origin.url(originPath), ...params, token: TOKEN })}`;
}

async function get(path: string, init?: RequestInit): Promise<{ response: Response; body: Buffer }> {
  const response = await system.request(path, init);
  return { response, body: await bodyOf(response) };
}

function headersOf(response: Response, names: readonly string[]): Record<string, string | null> {
  return Object.fromEntries(names.map((name) => [name, response.headers.get(name)]));
}

function maxAgeOf(response: Response): number {
  return Number(/max-age=(\d+)/.exec(response.headers.get('cache-control') ?? '')?.[1]);
}

const IMAGE_PATHS = {
  original: () => pathFor('/get_image', '/bytes/photo.jpg'),
  variant: () => pathFor('/get_image', '/bytes/photo.jpg', { resize_width: '120', format_when_resize: 'png' }),
  thumbnail: () => pathFor('/get_thumbnail', '/bytes/photo.jpg', { size: '200' }),
};

describe('image answers', () => {
  it.each(Object.entries(IMAGE_PATHS))('%s: strong ETag, Last-Modified, Content-Length, cached for max-age and served stale while revalidating', async (_kind, path) => {
    const { response, body } = await get(path());
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]{64}"$/);
    expect(Number(response.headers.get('content-length'))).toBe(body.length);
    const lastModified = Date.parse(response.headers.get('last-modified') ?? '');
    expect(lastModified).toBeLessThanOrEqual(Date.now());
    expect(lastModified).toBeGreaterThan(Date.now() - 60_000);
    expect(response.headers.get('cache-control')).toBe(
      `public, max-age=${system.config.server.imageMaxAgeSeconds}, stale-while-revalidate=${system.config.server.imageMaxAgeSeconds}`,
    );
  });

  it('a versioned URL (v=) is immutable for a year', async () => {
    const { response } = await get(pathFor('/get_image', '/bytes/photo.jpg', { resize_width: '120', format_when_resize: 'png', v: 'a1b2' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe(`public, max-age=${YEAR}, immutable`);
  });

  it('a signed URL is immutable until it expires, never beyond, and so are its negatively cached errors', async () => {
    const now = Math.floor(Date.now() / 1000);
    const signed = (params: Record<string, string>, expiresIn: number) =>
      signRequest({ path: '/get_image', params: { url: system.origin.url('/bytes/photo.jpg'), ...params }, tenant: 'shop', expiresAt: now + expiresIn, key: KEY });

    for (const params of [{ resize_width: '120' }, { resize_width: '120', v: '7' }] as Array<Record<string, string>>) {
      const { response } = await get(signed(params, 600));
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toMatch(/^public, max-age=\d+, immutable$/);
      expect(maxAgeOf(response)).toBeLessThanOrEqual(600);
      expect(maxAgeOf(response)).toBeGreaterThan(500);
    }

    const missing = signRequest({ path: '/get_image', params: { url: system.origin.url('/status/404') }, tenant: 'shop', expiresAt: now + 20, key: KEY });
    const { response } = await get(missing);
    expect(response.status).toBe(404);
    expect(response.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
    expect(maxAgeOf(response)).toBeLessThanOrEqual(20);
  });

  it('an answer to a bearer token is private: a shared cache keys on the URL, not on the token', async () => {
    const url = `/get_image?${new URLSearchParams({ url: system.origin.url('/bytes/photo.jpg'), resize_width: '120' })}`;
    const { response } = await get(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toMatch(/^private, max-age=\d+/);
  });
});

describe('conditional requests (RFC 9110 §13.2.2)', () => {
  let etag: string;
  let lastModified: string;
  const path = () => IMAGE_PATHS.variant();

  beforeAll(async () => {
    const { response } = await get(path());
    etag = response.headers.get('etag')!;
    lastModified = response.headers.get('last-modified')!;
  });

  async function status(headers: Record<string, string>): Promise<number> {
    return (await get(path(), { headers })).response.status;
  }

  it('compares If-None-Match weakly, in lists, and with *', async () => {
    expect(await status({ 'if-none-match': etag })).toBe(304);
    expect(await status({ 'if-none-match': `W/${etag}` })).toBe(304);
    expect(await status({ 'if-none-match': `"nope", W/${etag}` })).toBe(304);
    expect(await status({ 'if-none-match': '*' })).toBe(304);
    expect(await status({ 'if-none-match': '"nope"' })).toBe(200);
  });

  it('answers If-Modified-Since alone, and lets If-None-Match take precedence over it', async () => {
    const later = new Date(Date.parse(lastModified) + 3_600_000).toUTCString();
    const earlier = new Date(Date.parse(lastModified) - 3_600_000).toUTCString();
    expect(await status({ 'if-modified-since': lastModified })).toBe(304);
    expect(await status({ 'if-modified-since': later })).toBe(304);
    expect(await status({ 'if-modified-since': earlier })).toBe(200);
    expect(await status({ 'if-modified-since': 'not a date' })).toBe(200);
    // A stale tag with a current date: the tag decides (200); a current tag with an old date: 304.
    expect(await status({ 'if-none-match': '"nope"', 'if-modified-since': later })).toBe(200);
    expect(await status({ 'if-none-match': etag, 'if-modified-since': earlier })).toBe(304);
  });

  it('a 304 carries the validators and the caching headers, and no body', async () => {
    const fresh = await get(path());
    const { response, body } = await get(path(), { headers: { 'if-none-match': etag } });
    expect(response.status).toBe(304);
    expect(body.length).toBe(0);
    expect(headersOf(response, ['etag', 'last-modified', 'cache-control'])).toEqual(headersOf(fresh.response, ['etag', 'last-modified', 'cache-control']));
  });
});

describe('HEAD', () => {
  const routes: Array<[string, () => string, readonly string[]]> = [
    ['get_image (original)', IMAGE_PATHS.original, REPRESENTATION_HEADERS],
    ['get_image (variant)', IMAGE_PATHS.variant, REPRESENTATION_HEADERS],
    ['get_thumbnail', IMAGE_PATHS.thumbnail, REPRESENTATION_HEADERS],
    ['get_image no_image', () => pathFor('/get_image', '/bytes/photo.jpg', { no_image: 'true' }), ['content-type', 'content-length', 'cache-control']],
    ['image_info', () => pathFor('/image_info', '/bytes/photo.jpg'), ['content-type', 'content-length', 'cache-control']],
    ['an error', () => pathFor('/get_image', '/bytes/photo.jpg', { resize_width: 'wide' }), ['content-type', 'content-length', 'cache-control']],
  ];

  it.each(routes)('%s: the same status and headers as GET, and no body', async (_name, path, headers) => {
    const got = await get(path());
    const head = await get(path(), { method: 'HEAD' });
    expect(head.response.status).toBe(got.response.status);
    expect(head.body.length).toBe(0);
    expect(Number(head.response.headers.get('content-length'))).toBe(got.body.length);
    expect(headersOf(head.response, headers)).toEqual(headersOf(got.response, headers));
  });

  it('a HEAD on a miss stores the image, so the GET after it is a hit', async () => {
    const path = pathFor('/get_image', '/bytes/other.jpg', { resize_width: '90' });
    const head = await get(path, { method: 'HEAD' });
    expect({ status: head.response.status, cache: head.response.headers.get('x-cache'), bytes: head.body.length }).toEqual({ status: 200, cache: 'MISS', bytes: 0 });
    const { response, body } = await get(path);
    expect(response.headers.get('x-cache')).toBe('HIT');
    expect(body.length).toBe(Number(head.response.headers.get('content-length')));
  });
});

describe('error answers', () => {
  it('carry Content-Length, and say how long they may be cached: final ones for the negative cache time, others never', async () => {
    const missing = await get(pathFor('/get_image', '/status/404'));
    expect(missing.response.status).toBe(404);
    expect(missing.response.headers.get('cache-control')).toBe(`public, max-age=${NEGATIVE_CACHE_SECONDS}`);
    expect(Number(missing.response.headers.get('content-length'))).toBe(missing.body.length);
    expect(missing.response.headers.get('etag')).toBeNull();

    for (const path of [pathFor('/get_image', '/bytes/photo.jpg', { resize_width: 'wide' }), '/no_such_endpoint', `/get_image?url=x`]) {
      const { response, body } = await get(path);
      expect({ path, status: response.status >= 400, cacheControl: response.headers.get('cache-control') }).toEqual({ path, status: true, cacheControl: 'no-store' });
      expect(Number(response.headers.get('content-length'))).toBe(body.length);
    }
  });
});

describe('byte ranges, alone and with conditions', () => {
  const cases: Array<[string, () => string]> = [
    ['a variant answered from memory', IMAGE_PATHS.variant],
    ['a large original answered from a stream', () => pathFor('/get_image', '/bytes/large.jpg')],
  ];

  it.each(cases)('%s: 206 with Content-Range and exactly the bytes asked for; 416 past the end', async (_kind, path) => {
    const whole = await get(path());
    expect(whole.response.headers.get('accept-ranges')).toBe('bytes');
    const size = whole.body.length;
    const middle = Math.floor(size / 3);
    const ranges: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99],
      ['bytes=-50', size - 50, size - 1],
      [`bytes=${size - 10}-`, size - 10, size - 1],
      [`bytes=${middle}-${2 * middle}`, middle, 2 * middle],
      [`bytes=${size - 5}-${size + 500}`, size - 5, size - 1],
    ];
    for (const [range, start, end] of ranges) {
      const { response, body } = await get(path(), { headers: { range } });
      expect({ range, status: response.status, contentRange: response.headers.get('content-range'), length: response.headers.get('content-length') }).toEqual({
        range,
        status: 206,
        contentRange: `bytes ${start}-${end}/${size}`,
        length: String(end - start + 1),
      });
      expect(body.equals(whole.body.subarray(start, end + 1))).toBe(true);
      expect(response.headers.get('etag')).toBe(whole.response.headers.get('etag'));
    }

    const past = await get(path(), { headers: { range: `bytes=${size}-` } });
    expect({ status: past.response.status, contentRange: past.response.headers.get('content-range'), cacheControl: past.response.headers.get('cache-control') }).toEqual({
      status: 416,
      contentRange: `bytes */${size}`,
      cacheControl: 'no-store',
    });
    expect(JSON.parse(past.body.toString()).error).toBe('range_not_satisfiable');
    expect(past.response.headers.get('etag')).toBeNull();
  });

  it('evaluates the conditions first: a current tag or date is 304 whatever the range; If-Range sends the whole image once the part is stale', async () => {
    const whole = await get(IMAGE_PATHS.variant());
    const etag = whole.response.headers.get('etag')!;
    const lastModified = whole.response.headers.get('last-modified')!;
    const range = 'bytes=0-9';
    const statusOf = async (headers: Record<string, string>) => {
      const { response, body } = await get(IMAGE_PATHS.variant(), { headers: { range, ...headers } });
      return { status: response.status, bytes: body.length };
    };
    expect(await statusOf({ 'if-none-match': etag })).toEqual({ status: 304, bytes: 0 });
    expect(await statusOf({ 'if-modified-since': lastModified })).toEqual({ status: 304, bytes: 0 });
    expect(await statusOf({ 'if-none-match': '"stale"' })).toEqual({ status: 206, bytes: 10 });
    expect(await statusOf({ 'if-none-match': '"stale"', 'if-range': etag })).toEqual({ status: 206, bytes: 10 });
    expect(await statusOf({ 'if-range': lastModified })).toEqual({ status: 206, bytes: 10 });
    expect(await statusOf({ 'if-range': '"stale"' })).toEqual({ status: 200, bytes: whole.body.length });
    expect(await statusOf({ 'if-range': `W/${etag}` })).toEqual({ status: 200, bytes: whole.body.length });
  });

  it('answers what it does not serve with the whole image: several ranges, other units, and any range on HEAD', async () => {
    const whole = await get(IMAGE_PATHS.variant());
    for (const range of ['bytes=0-1,5-6', 'items=0-5']) {
      const { response, body } = await get(IMAGE_PATHS.variant(), { headers: { range } });
      expect({ range, status: response.status, same: body.equals(whole.body) }).toEqual({ range, status: 200, same: true });
    }
    const head = await get(IMAGE_PATHS.variant(), { method: 'HEAD', headers: { range: 'bytes=0-9' } });
    expect({ status: head.response.status, length: Number(head.response.headers.get('content-length')) }).toEqual({ status: 200, length: whole.body.length });
  });
});
