import { makeImage } from '@image-cloud/imaging/testing';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/** Spellings of one origin URL are one original: downloaded once, then hits whatever the spelling. */

let system: SystemUnderTest;

beforeAll(async () => {
  system = await startSystem({ name: 'canonical-urls' });
  system.origin.serveBytes('photo.jpg', await makeImage({ width: 300, height: 200 }), 'image/jpeg');
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

it('downloads an original once for every spelling of its URL', async () => {
  const plain = system.origin.url('/bytes/photo.jpg');
  const hostAndPort = new URL(plain).host;
  const spellings = [
    plain,
    `HTTP://${hostAndPort}/bytes/photo.jpg`,
    `http:/${hostAndPort}/bytes/./photo.jpg`,
    `http://${hostAndPort}/%62ytes/x/../photo.jpg#top`,
  ];
  const caches: string[] = [];
  for (const url of spellings) {
    const response = await system.request(`/get_image?${new URLSearchParams({ url, resize_width: '100' })}`);
    expect(response.status).toBe(200);
    caches.push(response.headers.get('x-cache') ?? '');
    await bodyOf(response);
  }
  expect(caches).toEqual(['MISS', 'HIT', 'HIT', 'HIT']);
  expect(system.origin.hits('/bytes/photo.jpg')).toBe(1);
}, 60_000);
