import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImageCloudError, type ErrorCode } from '@image-cloud/errors';
import { createOriginFetcher, type OriginFetcherOptions } from '@image-cloud/origin-fetch';
import { startOriginServer, TINY_JPEG, type OriginServer } from '@image-cloud/testing';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

const baseOptions: OriginFetcherOptions = {
  maxBytes: 100_000,
  connectTimeoutMs: 500,
  responseTimeoutMs: 500,
  totalTimeoutMs: 1500,
  maxRedirects: 3,
  userAgent: 'image-cloud-test/1',
  allowPrivateOrigins: LOOPBACK,
};

function fetcher(overrides: Partial<OriginFetcherOptions> = {}) {
  return createOriginFetcher({ ...baseOptions, ...overrides });
}

/** Awaits a rejection and checks it is the registry error expected. */
async function expectFailure(
  promise: Promise<unknown>,
  code: ErrorCode,
  status: number,
  retryable: boolean,
): Promise<ImageCloudError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${code}, but the fetch succeeded`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageCloudError);
  expect(error).toMatchObject({ code, status, retryable });
  return error as ImageCloudError;
}

async function eventually(check: () => boolean, ms = 1000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('createOriginFetcher against a real loopback origin', () => {
  let server: OriginServer;
  let fixtures: string;

  beforeAll(async () => {
    fixtures = mkdtempSync(path.join(os.tmpdir(), 'origin-fetch-'));
    writeFileSync(path.join(fixtures, 'pic.jpg'), TINY_JPEG);
    server = await startOriginServer({ fixturesDir: fixtures });
    server.serveBytes('pic.jpg', TINY_JPEG, 'image/jpeg');
  });

  afterAll(async () => {
    await server.close();
    rmSync(fixtures, { recursive: true, force: true });
  });

  beforeEach(() => server.resetHits());

  describe('success', () => {
    it('returns the bytes with status, type, ETag, Last-Modified and final URL', async () => {
      const url = server.url('/fixtures/pic.jpg');
      const result = await fetcher().fetch(url);
      expect(result.bytes.equals(TINY_JPEG)).toBe(true);
      expect(result.status).toBe(200);
      expect(result.contentType).toBe('image/jpeg');
      expect(result.etag).toMatch(/^".+"$/);
      expect(result.lastModified).toMatch(/GMT$/);
      expect(result.finalUrl).toBe(url);
    });

    it('sends the user agent and asks for an unencoded body', async () => {
      let seen: Record<string, unknown> = {};
      server.route('/inspect', (req, res) => {
        seen = req.headers;
        res.writeHead(200, { 'Content-Type': 'image/jpeg' });
        res.end(TINY_JPEG);
      });
      await fetcher().fetch(server.url('/inspect'));
      expect(seen['user-agent']).toBe('image-cloud-test/1');
      expect(seen['accept-encoding']).toBe('identity');
    });

    it('accepts a body of exactly maxBytes', async () => {
      const result = await fetcher({ maxBytes: TINY_JPEG.length }).fetch(server.url('/bytes/pic.jpg'));
      expect(result.bytes.length).toBe(TINY_JPEG.length);
    });

    it('leaves content sniffing to the caller (an HTML page is returned with its type)', async () => {
      const result = await fetcher().fetch(server.url('/html'));
      expect(result.contentType).toMatch(/^text\/html/);
    });

    it('resolves host names through the vetted lookup when they are allow-listed', async () => {
      const result = await fetcher().fetch(`http://localhost:${server.port}/bytes/pic.jpg`);
      expect(result.bytes.equals(TINY_JPEG)).toBe(true);
    });
  });

  describe('origin status codes', () => {
    it.each([
      [404, 'origin_not_found', 404, false],
      [410, 'origin_not_found', 404, false],
      [403, 'origin_error', 502, false],
      [401, 'origin_error', 502, false],
      [500, 'origin_error', 502, true],
      [503, 'origin_error', 502, true],
      [408, 'origin_error', 502, true],
    ] as const)('origin %i → %s', async (origin, code, status, retryable) => {
      const error = await expectFailure(fetcher().fetch(server.url(`/status/${origin}?token=s3cr3t`)), code, status, retryable);
      expect(error.message).toContain(`127.0.0.1:${server.port}/status/${origin}`);
      expect(error.message).not.toContain('s3cr3t');
    });

    it('honours Retry-After on 503 and 429', async () => {
      const e503 = await expectFailure(fetcher().fetch(server.url('/status/503?retry-after=7')), 'origin_error', 502, true);
      expect(e503.retryAfterSeconds).toBe(7);
      const e429 = await expectFailure(fetcher().fetch(server.url('/status/429?retry-after=3')), 'origin_error', 502, true);
      expect(e429.retryAfterSeconds).toBe(3);
    });
  });

  describe('network failures and timeouts', () => {
    it('connection refused → origin_error, retryable', async () => {
      const gone = await startOriginServer();
      const url = gone.url('/bytes/x');
      await gone.close();
      const error = await expectFailure(fetcher().fetch(url), 'origin_error', 502, true);
      expect(error.message).toMatch(/refused/);
    });

    it('an unresolvable host → origin_error (or a lookup timeout), retryable', async () => {
      const error = await fetcher()
        .fetch('http://image-cloud-test.invalid/a.jpg')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageCloudError);
      expect(['origin_error', 'origin_timeout']).toContain((error as ImageCloudError).code);
      expect((error as ImageCloudError).retryable).toBe(true);
    });

    it('slow headers → origin_timeout within the response budget, socket destroyed', async () => {
      const cutBefore = server.cutShort();
      const error = await expectFailure(
        fetcher({ responseTimeoutMs: 200 }).fetch(server.url('/slow?ms=5000')),
        'origin_timeout',
        504,
        true,
      );
      expect(error.message).toMatch(/did not start answering in time/);
      await eventually(() => server.concurrent() === 0);
      // The fetcher hung up on its own budget: the origin never got to answer.
      expect(server.cutShort()).toBe(cutBefore + 1);
    });

    it('slow-drip body → origin_timeout at the total budget, socket destroyed', async () => {
      const started = Date.now();
      const cutBefore = server.cutShort();
      await expectFailure(
        fetcher({ responseTimeoutMs: 300, totalTimeoutMs: 400 }).fetch(server.url('/drip?ms=100&chunks=30')),
        'origin_timeout',
        504,
        true,
      );
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
      await eventually(() => server.concurrent() === 0);
      // Cut at the total budget: the origin was still dripping its 3 s body.
      expect(server.cutShort()).toBe(cutBefore + 1);
    });

    it('keeps connections alive, and retries once on a fresh one when the origin closed the kept socket', async () => {
      const requestsOnSocket = new WeakMap<object, number>();
      const sockets = new Set<object>();
      let requests = 0;
      server.route('/closes-kept', (req, res) => {
        requests++;
        sockets.add(req.socket);
        const seen = (requestsOnSocket.get(req.socket) ?? 0) + 1;
        requestsOnSocket.set(req.socket, seen);
        // The origin dropped its idle side just as the kept socket was reused.
        if (seen > 1) return void req.socket.destroy();
        res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': TINY_JPEG.length }).end(TINY_JPEG);
      });
      const keepsAlive = fetcher();
      await keepsAlive.fetch(server.url('/closes-kept'));
      await new Promise((r) => setTimeout(r, 50)); // the socket back in the agent's free list
      const second = await keepsAlive.fetch(server.url('/closes-kept'));
      expect(second.bytes.equals(TINY_JPEG)).toBe(true);
      // First download, the reused socket's failed attempt, the retry on a new connection.
      expect([requests, sockets.size]).toEqual([3, 2]);
    });

    it('does not retry a reset on a fresh connection: that is the origin failing', async () => {
      let requests = 0;
      server.route('/resets', (req) => {
        requests++;
        req.socket.destroy();
      });
      await expectFailure(fetcher().fetch(server.url('/resets')), 'origin_error', 502, true);
      expect(requests).toBe(1);
    });

    it('the total budget covers all redirect hops together', async () => {
      // Each hop answers within the response timeout, but the chain as a whole is too slow.
      server.route('/slow-hop', (req, res) => {
        const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n'));
        setTimeout(() => {
          res.writeHead(302, { Location: n > 0 ? `/slow-hop?n=${n - 1}` : '/bytes/pic.jpg' });
          res.end();
        }, 150);
      });
      const started = Date.now();
      const error = await expectFailure(
        fetcher({ responseTimeoutMs: 300, totalTimeoutMs: 400, maxRedirects: 5 }).fetch(server.url('/slow-hop?n=4')),
        'origin_timeout',
        504,
        true,
      );
      expect(error.message).toMatch(/did not deliver the image within 400 ms/);
      expect(Date.now() - started).toBeLessThan(1000);
    });
  });

  describe('byte cap', () => {
    it('refuses from an honest Content-Length before reading the body', async () => {
      const error = await expectFailure(
        fetcher({ maxBytes: 10_000 }).fetch(server.url('/huge?bytes=5000000')),
        'image_too_large',
        422,
        false,
      );
      expect(error.message).toMatch(/5000000 bytes/);
      await eventually(() => server.concurrent() === 0);
    });

    it('counts while streaming when Content-Length is absent, and stops early', async () => {
      const started = Date.now();
      const error = await expectFailure(
        fetcher({ maxBytes: 100_000 }).fetch(server.url('/huge?bytes=500000000&lie=1')),
        'image_too_large',
        422,
        false,
      );
      expect(Date.now() - started).toBeLessThan(1000);
      expect(error.message).toMatch(/larger than the 100000-byte limit/);
      await eventually(() => server.concurrent() === 0);
    });

    it('counts a close-delimited body (no Content-Length, no chunking) too', async () => {
      server.route('/close-delimited', (req, res) => {
        // HTTP/1.0-style: the body ends when the connection closes.
        res.socket?.write('HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nConnection: close\r\n\r\n');
        res.socket?.end(Buffer.alloc(300_000, 1));
        req.resume();
      });
      await expectFailure(fetcher({ maxBytes: 100_000 }).fetch(server.url('/close-delimited')), 'image_too_large', 422, false);
    });
  });

  it('refuses a gzip-encoded body → unsupported_format', async () => {
    await expectFailure(fetcher().fetch(server.url('/gzip')), 'unsupported_format', 415, false);
  });

  describe('redirects', () => {
    it('follows a redirect and reports the final URL', async () => {
      const result = await fetcher().fetch(server.url(`/redirect?to=${encodeURIComponent('/fixtures/pic.jpg')}`));
      expect(result.finalUrl).toBe(server.url('/fixtures/pic.jpg'));
      expect(result.bytes.equals(TINY_JPEG)).toBe(true);
      expect(server.hits('/redirect')).toBe(1);
      expect(server.hits('/fixtures/pic.jpg')).toBe(1);
    });

    it('follows exactly maxRedirects hops', async () => {
      const result = await fetcher({ maxRedirects: 3 }).fetch(server.url('/redirect-chain?n=3&to=%2Fbytes%2Fpic.jpg'));
      expect(result.finalUrl).toBe(server.url('/bytes/pic.jpg'));
    });

    it('too many redirects → origin_error, not retryable', async () => {
      const error = await expectFailure(
        fetcher({ maxRedirects: 3 }).fetch(server.url('/redirect-chain?n=4&to=%2Fbytes%2Fpic.jpg')),
        'origin_error',
        502,
        false,
      );
      expect(error.message).toMatch(/redirected too many times/);
      expect(server.hits('/bytes/pic.jpg')).toBe(0);
    });

    it('a redirect loop → origin_error after maxRedirects hops', async () => {
      await expectFailure(fetcher({ maxRedirects: 3 }).fetch(server.url('/redirect-loop')), 'origin_error', 502, false);
      expect(server.hits('/redirect-loop')).toBe(4);
    });

    it.each(['ftp://example.com/a.jpg', 'file:///etc/passwd', 'data:image/png;base64,AAAA'])(
      'a redirect to a non-http scheme (%s) → origin_error, not retryable',
      async (target) => {
        const error = await expectFailure(
          fetcher().fetch(server.url(`/redirect?to=${encodeURIComponent(target)}`)),
          'origin_error',
          502,
          false,
        );
        expect(error.message).toMatch(/not http or https/);
      },
    );
  });

  describe('SSRF guard', () => {
    let trusted: OriginServer;

    beforeAll(async () => {
      // Linux routes all of 127/8 to loopback: this origin is "trusted", 127.0.0.1 is not.
      trusted = await startOriginServer({ host: '127.0.0.2' });
    });
    afterAll(() => trusted.close());

    const onlyTrusted = () => fetcher({ allowPrivateOrigins: ['127.0.0.2/32'] });

    it('fetches from an allow-listed private origin', async () => {
      trusted.serveBytes('ok.jpg', TINY_JPEG, 'image/jpeg');
      const result = await onlyTrusted().fetch(trusted.url('/bytes/ok.jpg'));
      expect(result.bytes.equals(TINY_JPEG)).toBe(true);
    });

    it('a redirect from the allowed origin to a blocked IP literal → origin_forbidden, nothing sent there', async () => {
      const target = server.url('/bytes/pic.jpg');
      const error = await expectFailure(
        onlyTrusted().fetch(trusted.url(`/redirect?to=${encodeURIComponent(target)}`)),
        'origin_forbidden',
        403,
        false,
      );
      expect(error.message).toMatch(/resolves to a blocked \(private\/loopback\/link-local\) address/);
      expect(error.message).not.toContain('127.0.0.1');
      expect(server.hits()).toBe(0);
    });

    it('a redirect from the allowed origin to a host name resolving to loopback → origin_forbidden', async () => {
      const target = `http://localhost:${server.port}/bytes/pic.jpg`;
      const error = await expectFailure(
        onlyTrusted().fetch(trusted.url(`/redirect?to=${encodeURIComponent(target)}`)),
        'origin_forbidden',
        403,
        false,
      );
      expect(error.message).not.toMatch(/127\.0\.0\.1|::1/);
      expect(server.hits()).toBe(0);
    });

    it('an http→https redirect goes through the same vetted lookup', async () => {
      const target = `https://localhost:${server.port}/bytes/pic.jpg`;
      await expectFailure(onlyTrusted().fetch(trusted.url(`/redirect?to=${encodeURIComponent(target)}`)), 'origin_forbidden', 403, false);
      expect(server.hits()).toBe(0);
    });

    it('blocks loopback by IP literal when nothing is allow-listed', async () => {
      const error = await expectFailure(
        fetcher({ allowPrivateOrigins: [] }).fetch(server.url('/bytes/pic.jpg')),
        'origin_forbidden',
        403,
        false,
      );
      expect(error.message).toMatch(/resolves to a blocked/);
      expect(server.hits()).toBe(0);
    });

    it('blocks loopback by host name (localhost) when nothing is allow-listed', async () => {
      await expectFailure(
        fetcher({ allowPrivateOrigins: [] }).fetch(`http://localhost:${server.port}/bytes/pic.jpg`),
        'origin_forbidden',
        403,
        false,
      );
      expect(server.hits()).toBe(0);
    });

    it.each([
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/a.jpg',
      'http://[::ffff:127.0.0.1]/a.jpg',
      'http://[::ffff:7f00:1]/a.jpg',
      'http://0.0.0.0/a.jpg',
      'http://[::]/a.jpg',
      'http://2130706433/a.jpg',
      'http://0x7f.1/a.jpg',
      'http://10.0.0.1/a.jpg',
      'http://100.64.0.1/a.jpg',
      'http://[fd00::1]/a.jpg',
      'http://[fe80::1]/a.jpg',
      'https://192.168.1.1/a.jpg',
    ])('blocks %s before connecting', async (url) => {
      const started = Date.now();
      await expectFailure(fetcher({ allowPrivateOrigins: [] }).fetch(url), 'origin_forbidden', 403, false);
      expect(Date.now() - started).toBeLessThan(200);
    });
  });

  describe('bad URLs', () => {
    it.each(['not a url', 'ftp://example.com/a.jpg', 'file:///etc/passwd', 'javascript:alert(1)', '/relative.jpg'])(
      '%j → bad_parameter',
      async (url) => {
        await expectFailure(fetcher().fetch(url), 'bad_parameter', 400, false);
      },
    );
  });

  describe('abort signal', () => {
    it('aborting destroys the download and rejects', async () => {
      const controller = new AbortController();
      const started = Date.now();
      const pending = fetcher({ responseTimeoutMs: 5000, totalTimeoutMs: 10_000 }).fetch(server.url('/slow?ms=5000'), {
        signal: controller.signal,
      });
      await eventually(() => server.concurrent() === 1);
      controller.abort();
      const error = await expectFailure(pending, 'origin_timeout', 504, true);
      expect(error.message).toMatch(/aborted/);
      expect(Date.now() - started).toBeLessThan(1000);
      await eventually(() => server.concurrent() === 0);
    });

    it('aborting mid-body stops the download', async () => {
      const controller = new AbortController();
      const pending = fetcher({ totalTimeoutMs: 10_000 }).fetch(server.url('/drip?ms=100&chunks=30'), { signal: controller.signal });
      setTimeout(() => controller.abort(), 150);
      await expectFailure(pending, 'origin_timeout', 504, true);
      await eventually(() => server.concurrent() === 0);
    });

    it('an ImageCloudError abort reason is passed through', async () => {
      const controller = new AbortController();
      const pending = fetcher().fetch(server.url('/slow?ms=2000'), { signal: controller.signal });
      controller.abort(new ImageCloudError('unavailable', 'The worker is shutting down.'));
      await expectFailure(pending, 'unavailable', 503, true);
    });

    it('an already-aborted signal rejects without a request', async () => {
      const controller = new AbortController();
      controller.abort();
      await expectFailure(fetcher().fetch(server.url('/bytes/pic.jpg'), { signal: controller.signal }), 'origin_timeout', 504, true);
      expect(server.hits()).toBe(0);
    });
  });

  it('keeps serving after failures', async () => {
    const f = fetcher();
    await Promise.allSettled([f.fetch(server.url('/status/500')), f.fetch(server.url('/gzip')), f.fetch(server.url('/redirect-loop'))]);
    const result = await f.fetch(server.url('/bytes/pic.jpg'));
    expect(result.status).toBe(200);
  });

  it('rejects invalid options at creation', () => {
    expect(() => fetcher({ maxBytes: 0 })).toThrow(/maxBytes/);
    expect(() => fetcher({ maxRedirects: -1 })).toThrow(/maxRedirects/);
    expect(() => fetcher({ allowPrivateOrigins: ['nope'] })).toThrow(/not a valid CIDR/);
  });
});
