import { makeImage } from '@image-cloud/imaging/testing';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/**
 * Corrupt originals are never served raw: a JPEG cut in half keeps a header the fetch stage's probe
 * accepts, but its pixels do not decode. Asked without a resize (first, or after a resize failed)
 * it is 422 image_corrupt, remembered for the whole image; a sound original is served untouched.
 */

let system: SystemUnderTest;
let sound: Buffer;

beforeAll(async () => {
  system = await startSystem({ name: 'corrupt-original' });
  sound = await makeImage({ width: 600, height: 400 });
  const truncated = sound.subarray(0, Math.floor(sound.length / 2));
  system.origin.serveBytes('raw-first.jpg', truncated, 'image/jpeg');
  system.origin.serveBytes('resize-first.jpg', truncated, 'image/jpeg');
  system.origin.serveBytes('sound.jpg', sound, 'image/jpeg');
}, 60_000);

afterAll(async () => {
  await system?.stop();
});

async function expectCorrupt(response: Response): Promise<void> {
  expect(response.status).toBe(422);
  expect(await response.json()).toMatchObject({ error: 'image_corrupt' });
}

it('answers 422 image_corrupt for a truncated JPEG asked for raw, and again from the negative cache without a new render', async () => {
  // The probe accepts the header: the original's metadata is there.
  const info = await system.request(`/image_info?url=${encodeURIComponent(system.origin.url('/bytes/raw-first.jpg'))}`);
  expect(info.status).toBe(200);
  expect(await info.json()).toMatchObject({ width: 600, height: 400, format: 'jpeg' });

  await expectCorrupt(await system.getImage('/bytes/raw-first.jpg'));
  const jobs = await system.jobsCreated();
  await expectCorrupt(await system.getImage('/bytes/raw-first.jpg'));
  await expectCorrupt(await system.getImage('/bytes/raw-first.jpg', { resize_width: '100' }));
  expect(await system.jobsCreated()).toBe(jobs);
}, 60_000);

it('answers 422 for the raw bytes after a resize of them failed to decode', async () => {
  await expectCorrupt(await system.getImage('/bytes/resize-first.jpg', { resize_width: '100' }));
  await expectCorrupt(await system.getImage('/bytes/resize-first.jpg'));
}, 60_000);

it('serves a sound original untouched, the first time and from the cache', async () => {
  const first = await system.getImage('/bytes/sound.jpg');
  expect(first.status).toBe(200);
  expect((await bodyOf(first)).equals(sound)).toBe(true);
  const jobs = await system.jobsCreated();
  const second = await system.getImage('/bytes/sound.jpg');
  expect(second.status).toBe(200);
  expect(second.headers.get('x-cache')).toBe('HIT');
  expect((await bodyOf(second)).equals(sound)).toBe(true);
  expect(await system.jobsCreated()).toBe(jobs);
}, 60_000);
