import net from 'node:net';
import { ImageCloudError, type ErrorCode } from '@image-cloud/errors';
import { createOriginFetcher, type OriginFetcherOptions } from '@image-cloud/origin-fetch';
import { startOriginServer, TINY_JPEG, type OriginServer } from '@image-cloud/testing';

// What the downloader does hop by hop, on its own sockets: redirects, credentials, TLS, kept sockets.

const baseOptions: OriginFetcherOptions = {
  maxBytes: 100_000,
  connectTimeoutMs: 300,
  responseTimeoutMs: 300,
  totalTimeoutMs: 3000,
  maxRedirects: 3,
  userAgent: 'image-cloud-test/1',
  allowPrivateOrigins: ['127.0.0.0/8', '::1/128'],
};

function fetcher(overrides: Partial<OriginFetcherOptions> = {}) {
  return createOriginFetcher({ ...baseOptions, ...overrides });
}

async function failure(promise: Promise<unknown>, code: ErrorCode): Promise<ImageCloudError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected ${code}, but the fetch succeeded`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ImageCloudError);
  expect((error as ImageCloudError).code).toBe(code);
  return error as ImageCloudError;
}

/** A TCP server that accepts and never answers: a TLS handshake with it cannot complete. */
async function startSilentServer(host: string): Promise<{ port: number; firstBytes: Buffer[]; close(): Promise<void> }> {
  const firstBytes: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('data', (chunk: Buffer) => firstBytes.push(chunk));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    firstBytes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('createOriginFetcher, hop by hop', () => {
  let server: OriginServer;

  beforeAll(async () => {
    server = await startOriginServer();
    server.serveBytes('pic.jpg', TINY_JPEG, 'image/jpeg');
  });
  afterAll(() => server.close());
  beforeEach(() => server.resetHits());

  it.each([301, 302, 303, 307, 308])('follows a %i redirect with a GET', async (status) => {
    const methods: string[] = [];
    server.route('/method', (req, res) => {
      methods.push(req.method ?? '');
      res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(TINY_JPEG);
    });
    const result = await fetcher().fetch(server.url(`/redirect?status=${status}&to=%2Fmethod`));
    expect(result.finalUrl).toBe(server.url('/method'));
    expect(methods).toEqual(['GET']);
  });

  it('resolves a relative Location against the URL that answered it', async () => {
    server.route('/dir/page', (_req, res) => {
      res.writeHead(302, { Location: '../bytes/pic.jpg' }).end();
    });
    const result = await fetcher().fetch(server.url('/dir/page'));
    expect(result.finalUrl).toBe(server.url('/bytes/pic.jpg'));
    expect(result.bytes.equals(TINY_JPEG)).toBe(true);
  });

  it('discards a redirect body and reuses its kept-alive socket for the next hop', async () => {
    const sockets: object[] = [];
    server.route('/redirect-with-body', (req, res) => {
      sockets.push(req.socket);
      const body = Buffer.alloc(20_000, 0x61);
      res.writeHead(302, { Location: '/target', 'Content-Length': body.length }).end(body);
    });
    server.route('/target', (req, res) => {
      sockets.push(req.socket);
      res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(TINY_JPEG);
    });
    const result = await fetcher().fetch(server.url('/redirect-with-body'));
    expect(result.bytes.equals(TINY_JPEG)).toBe(true);
    expect(sockets).toHaveLength(2);
    expect(sockets[1]).toBe(sockets[0]);
  });

  it('sends URL credentials along redirects to the same host only', async () => {
    const seen: Record<string, string | undefined> = {};
    server.route('/auth-start', (req, res) => {
      seen.start = req.headers.authorization;
      res.writeHead(302, { Location: '/auth-same' }).end();
    });
    server.route('/auth-same', (req, res) => {
      seen.same = req.headers.authorization;
      // Another host name for the same server: another site as far as credentials go.
      res.writeHead(302, { Location: `http://localhost:${server.port}/auth-other` }).end();
    });
    server.route('/auth-other', (req, res) => {
      seen.other = req.headers.authorization;
      res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(TINY_JPEG);
    });
    await fetcher().fetch(`http://user:pw@127.0.0.1:${server.port}/auth-start`);
    const basic = `Basic ${Buffer.from('user:pw').toString('base64')}`;
    expect(seen).toEqual({ start: basic, same: basic, other: undefined });
  });

  it('times the response on a reused kept-alive socket too', async () => {
    const sockets = new Set<object>();
    server.route('/kept-then-slow', (req, res) => {
      sockets.add(req.socket);
      if (sockets.size === 1 && server.hits('/kept-then-slow') > 1) return; // never answers
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': TINY_JPEG.length }).end(TINY_JPEG);
    });
    const keepsAlive = fetcher({ responseTimeoutMs: 200 });
    await keepsAlive.fetch(server.url('/kept-then-slow'));
    await new Promise((r) => setTimeout(r, 50)); // the socket back in the agent's free list
    const error = await failure(keepsAlive.fetch(server.url('/kept-then-slow')), 'origin_timeout');
    expect(error.message).toBe(`The origin 127.0.0.1:${server.port}/kept-then-slow did not start answering in time.`);
    expect(sockets.size).toBe(1);
  });

  describe('TLS', () => {
    let silent: Awaited<ReturnType<typeof startSilentServer>>;
    beforeAll(async () => {
      silent = await startSilentServer('127.0.0.1');
    });
    afterAll(() => silent.close());
    beforeEach(() => {
      silent.firstBytes.length = 0;
    });

    it('a TLS handshake that never completes → origin_timeout naming the handshake', async () => {
      const error = await failure(
        fetcher().fetch(`https://127.0.0.1:${silent.port}/a.jpg`),
        'origin_timeout',
      );
      expect(error.message).toBe(`The origin 127.0.0.1:${silent.port}/a.jpg did not complete the TLS handshake in time.`);
      expect(error.retryable).toBe(true);
    });

    it('an http→https redirect to an allowed host name is resolved by the vetted lookup and spoken to over TLS', async () => {
      const target = `https://localhost:${silent.port}/a.jpg`;
      const error = await failure(fetcher().fetch(server.url(`/redirect?to=${encodeURIComponent(target)}`)), 'origin_timeout');
      expect(error.message).toMatch(/did not complete the TLS handshake in time/);
      // The first bytes on the connection: a TLS handshake record (content type 22), not HTTP.
      expect(silent.firstBytes.map((chunk) => chunk[0])).toEqual([0x16]);
    });
  });
});
