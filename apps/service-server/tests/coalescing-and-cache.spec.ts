import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeImage, makeImage } from '@image-cloud/imaging/testing';
import { freePort, spawnBuiltApp, stopProcesses, waitForHttp } from '@image-cloud/testing';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

let system: SystemUnderTest;
let photo: Buffer;

beforeAll(async () => {
  system = await startSystem({ name: 'coalescing' });
  photo = await makeImage({ width: 900, height: 600 });
  // An origin slow enough that concurrent requests overlap while the first download runs.
  system.origin.route('/slow-photo', async (_req, res) => {
    await sleep(400);
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(photo.length) });
    res.end(photo);
  });
  system.origin.serveBytes('cached.jpg', photo, 'image/jpeg');
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

describe('identical work is done once', () => {
  it('shares one job and one download between 20 concurrent requests for the same variant', async () => {
    const jobsBefore = await system.jobsCreated();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => system.getImage('/slow-photo?v=same', { resize_width: '150', resize_height: '150' })),
    );
    const bodies = await Promise.all(responses.map(bodyOf));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(new Set(bodies.map((b) => b.toString('base64'))).size).toBe(1);
    expect((await decodeImage(bodies[0])).width).toBe(150);
    expect(system.origin.hits('/slow-photo')).toBe(1);
    expect((await system.jobsCreated()) - jobsBefore).toBe(1);
  });

  it('downloads the original once for many sizes requested at the same time', async () => {
    const sizes = ['40', '60', '80', '100', '120'];
    const hitsBefore = system.origin.hits('/slow-photo');
    const jobsBefore = await system.jobsCreated();
    const responses = await Promise.all(sizes.map((size) => system.getImage('/slow-photo?v=sizes', { resize_width: size })));
    const widths = await Promise.all(responses.map(async (r) => (await decodeImage(await bodyOf(r))).width));
    expect(widths).toEqual(sizes.map(Number));
    expect(system.origin.hits('/slow-photo') - hitsBefore).toBe(1);
    expect((await system.jobsCreated()) - jobsBefore).toBe(sizes.length);
  });

  it('shares one job and one download across two server processes', async () => {
    const port = await freePort();
    await writeFile(join(system.config.dataDir, 'second-server.json'), JSON.stringify({ allowPrivateOrigins: ['127.0.0.0/8'] }));
    const second = spawnBuiltApp('service-server', {
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: system.config.redisUrl,
      DATA_DIR: system.config.dataDir,
      QUEUE_PREFIX: system.config.queuePrefix,
      CONFIG: join(system.config.dataDir, 'second-server.json'),
      LOG_LEVEL: 'silent',
    });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/readyz`);
      const bases = [system.server.url, `http://127.0.0.1:${port}`];
      const hitsBefore = system.origin.hits('/slow-photo');
      const jobsBefore = await system.jobsCreated();
      const query = `url=${encodeURIComponent(system.origin.url('/slow-photo?v=cluster'))}&resize_width=140`;
      const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => fetch(`${bases[i % 2]}/get_image?${query}`)));
      const bodies = await Promise.all(responses.map(bodyOf));
      expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(new Set(bodies.map((b) => b.toString('base64'))).size).toBe(1);
      expect(system.origin.hits('/slow-photo') - hitsBefore).toBe(1);
      expect((await system.jobsCreated()) - jobsBefore).toBe(1);
    } finally {
      await stopProcesses([second]);
    }
  }, 30_000);
});

describe('HTTP caching', () => {
  it('answers If-None-Match with 304 and no body', async () => {
    const first = await system.getImage('/bytes/cached.jpg', { resize_width: '90' });
    const etag = first.headers.get('etag')!;
    await bodyOf(first);
    const second = await system.getImage('/bytes/cached.jpg', { resize_width: '90' }, { headers: { 'If-None-Match': etag } });
    expect(second.status).toBe(304);
    expect(second.headers.get('etag')).toBe(etag);
    expect((await bodyOf(second)).length).toBe(0);
    const other = await system.getImage('/bytes/cached.jpg', { resize_width: '90' }, { headers: { 'If-None-Match': '"something-else"' } });
    expect(other.status).toBe(200);
    await bodyOf(other);
  });

  it('gives the original and a variant different strong ETags', async () => {
    const original = await system.getImage('/bytes/cached.jpg');
    const variant = await system.getImage('/bytes/cached.jpg', { resize_width: '91' });
    await Promise.all([bodyOf(original), bodyOf(variant)]);
    expect(original.headers.get('etag')).toMatch(/^"[0-9a-f]{64}"$/);
    expect(original.headers.get('etag')).not.toBe(variant.headers.get('etag'));
  });
});

describe('delete_image', () => {
  it('removes the original and every variant; the next request fetches again', async () => {
    const url = system.origin.url('/bytes/cached.jpg');
    await bodyOf(await system.getImage('/bytes/cached.jpg'));
    await bodyOf(await system.getImage('/bytes/cached.jpg', { resize_width: '50' }));
    const hits = system.origin.hits('/bytes/cached.jpg');

    const deleted = await system.request(`/delete_image?url=${encodeURIComponent(url)}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toMatchObject({ url, deleted: true });
    expect(deleted.headers.get('cache-control')).toBe('no-store');

    const local = await system.getImage('/bytes/cached.jpg', { only_send_if_local: 'true', resize_width: '50' });
    expect(local.status).toBe(404);
    expect(((await local.json()) as { error: string }).error).toBe('not_cached');

    const again = await system.getImage('/bytes/cached.jpg', { resize_width: '50' });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-cache')).toBe('MISS');
    await bodyOf(again);
    expect(system.origin.hits('/bytes/cached.jpg')).toBe(hits + 1);
  });

  it('forgets a remembered origin 404 so a fixed origin is fetched again', async () => {
    let exists = false;
    system.origin.route('/appears-later.jpg', (_req, res) => {
      if (!exists) {
        res.writeHead(404).end('not yet');
        return;
      }
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(photo);
    });
    expect((await system.getImage('/appears-later.jpg')).status).toBe(404);
    exists = true;
    expect((await system.getImage('/appears-later.jpg')).status).toBe(404);
    await system.request(`/delete_image?url=${encodeURIComponent(system.origin.url('/appears-later.jpg'))}`, { method: 'DELETE' });
    const response = await system.getImage('/appears-later.jpg');
    expect(response.status).toBe(200);
    await bodyOf(response);
  });

  it('answers deleted:false for an image that was never cached', async () => {
    const response = await system.request(`/delete_image?url=${encodeURIComponent('http://127.0.0.1:9/never.jpg')}`, { method: 'DELETE' });
    expect(await response.json()).toMatchObject({ deleted: false, objectsRemoved: 0 });
  });
});
