import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { contentTypeFor, startOriginServer, TINY_JPEG, type OriginServer } from './origin-server';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A plain node:http GET that does not follow redirects or decompress. */
function get(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

/** Sends a raw request line so that `..` segments reach the server unnormalised. */
function rawGet(port: number, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.on('error', reject);
  });
}

describe('startOriginServer', () => {
  let dir: string;
  let server: OriginServer;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'origin-fixtures-'));
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'sub', 'pic.jpg'), TINY_JPEG);
    writeFileSync(path.join(dir, 'notes.bin'), Buffer.from([1, 2, 3]));
    writeFileSync(path.join(path.dirname(dir), `${path.basename(dir)}-secret.txt`), 'secret');
    server = await startOriginServer({ fixturesDir: dir });
  });

  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(path.join(path.dirname(dir), `${path.basename(dir)}-secret.txt`), { force: true });
  });

  beforeEach(() => server.resetHits());

  it('listens on 127.0.0.1 with an ephemeral port and builds absolute URLs', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url('/a')).toBe(`http://127.0.0.1:${server.port}/a`);
    expect(server.url('a')).toBe(`http://127.0.0.1:${server.port}/a`);
  });

  it('serves fixtures with type, length, ETag and Last-Modified, and answers 304 to a matching ETag', async () => {
    const res = await get(server.url('/fixtures/sub/pic.jpg'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/jpeg');
    expect(res.headers['content-length']).toBe(String(TINY_JPEG.length));
    expect(res.headers['etag']).toMatch(/^".+"$/);
    expect(res.headers['last-modified']).toBeDefined();
    expect(res.body.equals(TINY_JPEG)).toBe(true);

    const again = await get(server.url('/fixtures/sub/pic.jpg'), { 'if-none-match': res.headers['etag'] });
    expect(again.status).toBe(304);

    const other = await get(server.url('/fixtures/notes.bin'));
    expect(other.headers['content-type']).toBe('application/octet-stream');
    expect((await get(server.url('/fixtures/missing.png'))).status).toBe(404);
  });

  it('refuses path traversal out of the fixtures directory', async () => {
    const secret = `${path.basename(dir)}-secret.txt`;
    expect(await rawGet(server.port, `/fixtures/../${secret}`)).toBe(403);
    expect((await get(server.url(`/fixtures/..%2f${secret}`))).status).toBe(403);
    expect((await get(server.url('/fixtures/sub%2f..%2f..%2f..%2fetc%2fpasswd'))).status).toBe(403);
  });

  it('maps extensions to content types', () => {
    expect(contentTypeFor('a.JPEG')).toBe('image/jpeg');
    expect(contentTypeFor('a.avif')).toBe('image/avif');
    expect(contentTypeFor('a.tif')).toBe('image/tiff');
    expect(contentTypeFor('a.svg')).toBe('image/svg+xml');
    expect(contentTypeFor('a.jp2')).toBe('image/jp2');
    expect(contentTypeFor('a.tga')).toBe('image/x-tga');
    expect(contentTypeFor('a.psd')).toBe('application/octet-stream');
  });

  it('serves registered bytes and counts hits per path without the query', async () => {
    server.serveBytes('dot.png', Buffer.from('png-bytes'), 'image/png');
    const res = await get(server.url('/bytes/dot.png?x=1'));
    await get(server.url('/bytes/dot.png?x=2'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(res.body.toString()).toBe('png-bytes');
    expect(server.hits('/bytes/dot.png')).toBe(2);
    expect(server.hits()).toBe(2);
    expect((await get(server.url('/bytes/none'))).status).toBe(404);
  });

  it('answers /status/<code> with Retry-After when asked', async () => {
    const res = await get(server.url('/status/429?retry-after=7'));
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.body.toString()).toContain('429');
    expect((await get(server.url('/status/503'))).status).toBe(503);
  });

  it('delays headers on /slow and tracks concurrency', async () => {
    const started = Date.now();
    const results = await Promise.all([get(server.url('/slow?ms=150')), get(server.url('/slow?ms=150'))]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(server.maxConcurrent()).toBe(2);
    expect(server.concurrent()).toBe(0);
  });

  it('drips a JPEG body slowly on /drip', async () => {
    const started = Date.now();
    const res = await get(server.url('/drip?ms=30&chunks=5'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(res.body.equals(TINY_JPEG)).toBe(true);
  });

  it('serves html, huge bodies with and without Content-Length, and gzip', async () => {
    const html = await get(server.url('/html'));
    expect(html.headers['content-type']).toMatch(/^text\/html/);

    const honest = await get(server.url('/huge?bytes=200000'));
    expect(honest.headers['content-length']).toBe('200000');
    expect(honest.body.length).toBe(200000);

    const lie = await get(server.url('/huge?bytes=200000&lie=1'));
    expect(lie.headers['content-length']).toBeUndefined();
    expect(lie.headers['transfer-encoding']).toBe('chunked');
    expect(lie.body.length).toBe(200000);

    const gz = await get(server.url('/gzip'));
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(TINY_JPEG)).toBe(true);
  });

  it('redirects, loops and chains', async () => {
    const one = await get(server.url(`/redirect?to=${encodeURIComponent('/html')}`));
    expect(one.status).toBe(302);
    expect(one.headers.location).toBe('/html');

    const loop = await get(server.url('/redirect-loop'));
    expect(loop.headers.location).toBe('/redirect-loop');

    const chain = await get(server.url('/redirect-chain?n=2&to=%2Fhtml'));
    expect(chain.headers.location).toBe('/redirect-chain?n=1&to=%2Fhtml');
    const last = await get(server.url(chain.headers.location ?? ''));
    expect(last.headers.location).toBe('/html');
  });

  it('runs custom routes before the built-ins', async () => {
    server.route('/html', (_req, res) => {
      res.writeHead(418);
      res.end();
    });
    expect((await get(server.url('/html'))).status).toBe(418);
  });

  it('close() destroys sockets that are still open', async () => {
    const other = await startOriginServer();
    const pending = get(other.url('/slow?ms=10000')).catch((error: unknown) => error);
    await new Promise((r) => setTimeout(r, 50));
    expect(other.concurrent()).toBe(1);
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(String(await pending)).toMatch(/socket hang up|ECONNRESET/);
  });
});
