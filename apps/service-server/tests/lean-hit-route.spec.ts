import { request as httpRequest } from 'node:http';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { makeImage } from '@image-cloud/imaging/testing';
import { createLogger } from '@image-cloud/logger';
import { signRequest } from '@image-cloud/tenant-auth';
import { serveSlowDrip, waitUntil } from '@image-cloud/testing';
import { type RunningServer, startServiceServer } from '../src/start-service-server';
import { type SystemUnderTest, startSystem } from './system-under-test';

/**
 * The lean hit route answers hits from the memory tier before express: the same status, headers
 * (in the same order) and bytes as the express chain gives the same request (a second server on
 * the same Redis and DATA_DIR with the tier off), the same log line and metrics, and never a
 * deleted image. That an answer came from memory is shown by taking the store away under it:
 * the express chain would then miss and download again.
 */

interface RawAnswer {
  status: number;
  /** Name/value pairs as sent, Date and X-Request-Id values blanked (they differ per answer). */
  headers: string[];
  body: Buffer;
}

function rawRequest(baseUrl: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const raw = res.rawHeaders.map((value, i) => (i % 2 === 1 && /^(date|x-request-id)$/i.test(res.rawHeaders[i - 1]) ? '…' : value));
        resolve({ status: res.statusCode!, headers: raw, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function headerOf(answer: RawAnswer, name: string): string | undefined {
  const at = answer.headers.findIndex((value, i) => i % 2 === 0 && value.toLowerCase() === name);
  return at < 0 ? undefined : answer.headers[at + 1];
}

const silent = createLogger({ level: 'silent', name: 'lean-hit-route' });

/** Moves the stored images away while `check` runs: whatever is still served comes from memory. */
async function withoutStore<T>(system: SystemUnderTest, check: () => Promise<T>): Promise<T> {
  const images = join(system.config.dataDir, 'images');
  await rename(images, `${images}-away`);
  try {
    return await check();
  } finally {
    await rename(`${images}-away`, images);
  }
}

describe('open mode', () => {
  const logLines: string[] = [];
  let system: SystemUnderTest;
  /** The express chain alone: same Redis, same DATA_DIR, memory tier off. */
  let plain: RunningServer;
  let photoUrl: string;
  let logoUrl: string;

  beforeAll(async () => {
    system = await startSystem({ name: 'lean-open', logLines });
    plain = await startServiceServer({ ...system.config, server: { ...system.config.server, memoryCacheBytes: 0 } }, silent);
    system.origin.serveBytes('photo.jpg', await makeImage({ width: 640, height: 480 }), 'image/jpeg');
    system.origin.serveBytes('logo.png', await makeImage({ width: 300, height: 200, format: 'png', alpha: 0.5 }), 'image/png');
    photoUrl = encodeURIComponent(system.origin.url('/bytes/photo.jpg'));
    logoUrl = encodeURIComponent(system.origin.url('/bytes/logo.png'));
  }, 60_000);

  afterAll(async () => {
    await plain?.close();
    await system?.stop();
  });

  const cases = (): Array<{ name: string; path: string; headers?: Record<string, string>; method?: string }> => [
    { name: 'a variant', path: `/get_image?url=${photoUrl}&resize_width=200` },
    { name: 'HEAD of a variant', path: `/get_image?url=${photoUrl}&resize_width=200`, method: 'HEAD' },
    { name: 'the original', path: `/get_image?url=${photoUrl}` },
    { name: 'a versioned variant', path: `/get_image?url=${photoUrl}&resize_width=150&v=3` },
    { name: 'a thumbnail', path: `/get_thumbnail?url=${photoUrl}&size=200` },
    { name: 'a negotiated variant (WebP accepted)', path: `/get_image?url=${logoUrl}&resize_width=100&format_when_resize=auto`, headers: { Accept: 'image/webp,*/*' } },
    { name: 'a negotiated variant (AVIF accepted)', path: `/get_image?url=${logoUrl}&resize_width=100&format_when_resize=auto`, headers: { Accept: 'image/avif,image/webp,*/*' } },
    { name: 'a PNG variant with a quality', path: `/get_image?url=${logoUrl}&resize_width=120&format_when_resize=png&quality=70` },
  ];

  it('answers hits with the status, headers and bytes of the express chain, from memory', async () => {
    for (const { name, path, headers, method } of cases()) {
      await rawRequest(system.server.url, path, headers, method); // fills the tier (a miss, or a hit)
      const lean = await rawRequest(system.server.url, path, headers, method);
      const express = await rawRequest(plain.url, path, headers, method);
      expect({ name, ...lean }).toEqual({ name, ...express });
      expect({ name, status: lean.status, cache: headerOf(lean, 'x-cache') }).toEqual({ name, status: 200, cache: 'HIT' });
    }
    const downloads = system.origin.hits();
    const fromMemory = await withoutStore(system, async () => {
      const answers: RawAnswer[] = [];
      for (const { path, headers, method } of cases()) answers.push(await rawRequest(system.server.url, path, headers, method));
      return answers;
    });
    for (const [i, { path, headers, method }] of cases().entries()) expect(fromMemory[i]).toEqual(await rawRequest(plain.url, path, headers, method));
    expect(system.origin.hits()).toBe(downloads);
  });

  it('answers conditional requests 304 as the express chain does', async () => {
    const path = `/get_image?url=${photoUrl}&resize_width=200`;
    const first = await rawRequest(system.server.url, path);
    const etag = headerOf(first, 'etag')!;
    const lastModified = headerOf(first, 'last-modified')!;
    for (const conditional of [{ 'If-None-Match': etag }, { 'If-None-Match': `W/${etag}, "other"` }, { 'If-Modified-Since': lastModified }, { 'If-None-Match': '"other"' }] as Array<Record<string, string>>) {
      const lean = await withoutStore(system, () => rawRequest(system.server.url, path, conditional));
      const express = await rawRequest(plain.url, path, conditional);
      expect(lean).toEqual(express);
    }
    expect((await withoutStore(system, () => rawRequest(system.server.url, path, { 'If-None-Match': etag }))).status).toBe(304);
  });

  it('leaves what it cannot answer to the express chain: ranges, alpha-dependent negotiation, bad parameters', async () => {
    const path = `/get_image?url=${photoUrl}&resize_width=200`;
    await rawRequest(system.server.url, path);
    for (const [requestPath, headers] of [
      [path, { Range: 'bytes=0-9' }],
      [`/get_image?url=${logoUrl}&resize_width=100&format_when_resize=auto`, { Accept: 'image/jpeg' }],
      [`/get_image?url=${photoUrl}&resize_widht=200`, {}],
      [`/get_image?url=${photoUrl}&resize_width=0`, {}],
    ] as const) {
      await rawRequest(system.server.url, requestPath, headers);
      expect(await rawRequest(system.server.url, requestPath, headers)).toEqual(await rawRequest(plain.url, requestPath, headers));
    }
    const bad = await rawRequest(system.server.url, `/get_image?url=${photoUrl}&resize_widht=200`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString())).toMatchObject({ error: 'bad_parameter', message: expect.stringMatching(/resize_width/) });
  });

  it('logs and counts its answers as the request log does', async () => {
    const path = `/get_image?url=${photoUrl}&resize_width=180`;
    await rawRequest(system.server.url, path);
    const counted = async () => {
      const text = await (await fetch(`${system.server.url}/metrics`)).text();
      const line = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
      return {
        requests: line(/^image_cloud_http_requests_total\{[^}]*route="\/get_image",status="200"[^}]*\} (\d+)/m),
        hits: line(/^image_cloud_http_request_duration_seconds_count\{[^}]*route="\/get_image",cache="hit",lane="normal"[^}]*\} (\d+)/m),
      };
    };
    const before = await counted();
    logLines.length = 0;
    await withoutStore(system, async () => {
      for (let i = 0; i < 5; i++) expect((await rawRequest(system.server.url, path, { 'X-Request-Id': `lean-hit-${i}` })).status).toBe(200);
    });
    expect(await counted()).toEqual({ requests: before.requests + 5, hits: before.hits + 5 });
    const logged = logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['msg'] === 'request' && line['route'] === '/get_image');
    expect(logged).toHaveLength(5);
    expect(logged[0]).toMatchObject({ requestId: 'lean-hit-0', method: 'GET', route: '/get_image', path, status: 200, cache: 'hit', lane: 'normal' });
    expect(typeof logged[0]['ms']).toBe('number');
  });

  it('never serves an image deleted through another server, which keeps it in memory too', async () => {
    const other = await startServiceServer(system.config, silent);
    try {
      const path = `/get_image?url=${photoUrl}&resize_width=220`;
      for (const server of [system.server, other]) for (let i = 0; i < 2; i++) expect((await rawRequest(server.url, path)).status).toBe(200);
      expect((await withoutStore(system, () => rawRequest(other.url, path))).status).toBe(200); // the premise: in the other's memory

      const deleted = await fetch(`${system.server.url}/delete_image?url=${photoUrl}`, { method: 'DELETE' });
      expect(await deleted.json()).toMatchObject({ deleted: true });
      for (const server of [other, system.server]) {
        const local = await rawRequest(server.url, `${path}&only_send_if_local=true`);
        expect(local.status).toBe(404);
        expect(JSON.parse(local.body.toString())).toMatchObject({ error: 'not_cached' });
      }
      // Fetched and rendered again, it is a hit again everywhere.
      expect((await rawRequest(other.url, path)).status).toBe(200);
      expect(headerOf(await rawRequest(system.server.url, path), 'x-cache')).toBe('HIT');
    } finally {
      await other.close();
    }
  });

  it('answers 503 while draining, however hot the image', async () => {
    const draining = await startServiceServer(system.config, silent);
    const drip = serveSlowDrip(system.origin, { path: '/lean-drip' });
    const path = `/get_image?url=${photoUrl}&resize_width=230`;
    expect((await rawRequest(system.server.url, path)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await rawRequest(draining.url, path)).status).toBe(200);
    expect((await withoutStore(system, () => rawRequest(draining.url, path))).status).toBe(200); // the premise: in its memory
    // A request in flight keeps the server draining rather than closed.
    const waiting = rawRequest(draining.url, `/get_image?url=${encodeURIComponent(system.origin.url('/lean-drip'))}&resize_width=10`);
    expect(await waitUntil(() => system.origin.concurrent() >= 1, 10_000)).toBe(true);
    const closed = draining.close();
    try {
      const refused = await rawRequest(draining.url, path);
      expect(refused.status).toBe(503);
      expect(headerOf(refused, 'connection')).toBe('close');
      expect(JSON.parse(refused.body.toString())).toMatchObject({ error: 'unavailable', message: expect.stringMatching(/shutting down/) });
    } finally {
      drip.stop();
      await waiting;
      await closed;
    }
  }, 30_000);
});

describe('with tenants', () => {
  const SHOP_TOKEN = 'lean-shop-token-0123456789';
  const TINY_TOKEN = 'lean-tiny-token-0123456789';
  const KEY = 'lean-signing-key-0123456789';
  let system: SystemUnderTest;
  let plain: RunningServer;
  let photo: string;

  beforeAll(async () => {
    system = await startSystem({
      name: 'lean-tenants',
      config: {
        tenants: {
          shop: { token: SHOP_TOKEN, requestsPerSecond: 1000, burst: 1000 },
          tiny: { token: TINY_TOKEN, requestsPerSecond: 0.01, burst: 3 },
        },
        signingKeys: [KEY],
        server: { signedUrlFormat: 'auto' },
      },
    });
    plain = await startServiceServer({ ...system.config, server: { ...system.config.server, memoryCacheBytes: 0 } }, silent);
    system.origin.serveBytes('photo.jpg', await makeImage({ width: 640, height: 480 }), 'image/jpeg');
    photo = system.origin.url('/bytes/photo.jpg');
  }, 60_000);

  afterAll(async () => {
    await plain?.close();
    await system?.stop();
  });

  const bearer = { Authorization: `Bearer ${SHOP_TOKEN}` };

  it('answers bearer, token= and signed-URL hits as the express chain does, from memory', async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    const signed = signRequest({ path: '/get_image', params: { url: photo, resize_width: '240' }, tenant: 'shop', expiresAt, key: KEY });
    const cases: Array<{ path: string; headers: Record<string, string> }> = [
      { path: `/get_image?url=${encodeURIComponent(photo)}&resize_width=240`, headers: bearer },
      { path: `/get_image?url=${encodeURIComponent(photo)}&resize_width=240&token=${SHOP_TOKEN}`, headers: {} },
      // A signed URL without a format negotiates it (server.signedUrlFormat auto): Vary: Accept.
      { path: signed, headers: { Accept: 'image/webp,*/*' } },
      { path: signed, headers: { Accept: 'image/webp,*/*', 'If-None-Match': '"nothing"' } },
    ];
    for (const { path, headers } of cases) await rawRequest(system.server.url, path, headers);
    const firstSecond = Math.floor(Date.now() / 1000);
    const fromMemory = await withoutStore(system, async () => Promise.all(cases.map(({ path, headers }) => rawRequest(system.server.url, path, headers))));
    for (const [i, { path, headers }] of cases.entries()) {
      const express = await rawRequest(plain.url, path, headers);
      const lastSecond = Math.floor(Date.now() / 1000);
      // A signed URL's max-age counts down to its expiry, so each answer's is checked against the
      // seconds it may have been made in, rather than against the other answer's.
      const maxAge = (answer: RawAnswer) => Number(/max-age=(\d+)/.exec(headerOf(answer, 'cache-control')!)![1]);
      const maxAgeAt = (second: number) => (path === signed ? Math.min(system.config.server.imageMaxAgeSeconds, expiresAt - second) : system.config.server.imageMaxAgeSeconds);
      for (const answer of [fromMemory[i], express]) {
        expect(maxAge(answer)).toBeGreaterThanOrEqual(maxAgeAt(lastSecond));
        expect(maxAge(answer)).toBeLessThanOrEqual(maxAgeAt(firstSecond));
      }
      const withoutAge = (answer: RawAnswer) => ({ ...answer, headers: answer.headers.map((value) => value.replace(/max-age=\d+/, 'max-age=…')) });
      expect(withoutAge(fromMemory[i])).toEqual(withoutAge(express));
      expect(fromMemory[i].status).toBe(200);
    }
    expect(headerOf(fromMemory[0], 'cache-control')).toMatch(/^private,/);
    expect(headerOf(fromMemory[1], 'cache-control')).toMatch(/^public,/);
    expect(headerOf(fromMemory[2], 'cache-control')).toMatch(/immutable$/);
    expect(headerOf(fromMemory[2], 'vary')).toBe('Accept');
  });

  it('leaves a missing or wrong token to the express chain (401, 403)', async () => {
    const path = `/get_image?url=${encodeURIComponent(photo)}&resize_width=240`;
    await rawRequest(system.server.url, path, bearer);
    for (const headers of [{}, { Authorization: 'Bearer wrong-token-0123456789' }, { Authorization: 'Basic abc' }] as Array<Record<string, string>>) {
      const lean = await withoutStore(system, () => rawRequest(system.server.url, path, headers));
      expect(lean).toEqual(await rawRequest(plain.url, path, headers));
      expect([401, 403]).toContain(lean.status);
    }
  });

  it("takes one of the tenant's tokens per hit: burst 3, then 429", async () => {
    const path = `/get_image?url=${encodeURIComponent(photo)}&resize_width=260`;
    for (let i = 0; i < 2; i++) expect((await rawRequest(system.server.url, path, bearer)).status).toBe(200);
    const tiny = { Authorization: `Bearer ${TINY_TOKEN}` };
    const statuses = await withoutStore(system, async () => {
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) seen.push((await rawRequest(system.server.url, path, tiny)).status);
      return seen;
    });
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });
});
