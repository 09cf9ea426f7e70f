import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeImage } from '@image-cloud/imaging/testing';
import { S3RVER_CREDENTIALS, type TestS3Server, startTestS3Server } from '@image-cloud/s3-storage/testing';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/**
 * `storage.kind: "s3"` end to end: the real server and workers against a real S3-protocol server
 * (s3rver on 127.0.0.1). Misses land in the bucket, hits come back with Range and 304 working,
 * and delete_image empties the bucket of the image and every host cache of it.
 */

const PREFIX = 'cloud-a/';
let s3: TestS3Server;
let system: SystemUnderTest;
let photo: Buffer;
let large: Buffer;
const savedEnv = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };

beforeAll(async () => {
  s3 = await startTestS3Server('image-cloud-system');
  // Credentials reach the backend the way they do in production: the SDK's environment chain.
  process.env['AWS_ACCESS_KEY_ID'] = S3RVER_CREDENTIALS.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = S3RVER_CREDENTIALS.secretAccessKey;
  system = await startSystem({
    name: 's3-storage',
    config: { storage: { kind: 's3', bucket: s3.bucket, endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, prefix: PREFIX } },
  });
  photo = await makeImage({ width: 400, height: 300 });
  // Over the size answered from memory, so the hit is streamed and its range cut from the stream.
  large = Buffer.concat([await makeImage({ width: 300, height: 200 }), randomBytes(600_000)]);
  system.origin.serveBytes('photo.jpg', photo, 'image/jpeg');
  system.origin.serveBytes('large.jpg', large, 'image/jpeg');
}, 60_000);

afterAll(async () => {
  await system?.stop();
  await s3?.close();
  process.env['AWS_ACCESS_KEY_ID'] = savedEnv.id;
  process.env['AWS_SECRET_ACCESS_KEY'] = savedEnv.secret;
  if (savedEnv.id === undefined) delete process.env['AWS_ACCESS_KEY_ID'];
  if (savedEnv.secret === undefined) delete process.env['AWS_SECRET_ACCESS_KEY'];
});

it('stores a miss in the bucket, under the prefix, and nothing in DATA_DIR', async () => {
  const miss = await system.getImage('/bytes/photo.jpg', { resize_width: '120', format_when_resize: 'png' });
  expect(miss.status).toBe(200);
  expect(miss.headers.get('x-cache')).toBe('MISS');
  await bodyOf(miss);

  const names = await s3.list(PREFIX);
  expect(names.filter((name) => name.endsWith('/original.json'))).toHaveLength(1);
  expect(names.filter((name) => /\/variants\/[0-9a-f]{64}\.json$/.test(name))).toHaveLength(1);
  expect(names.filter((name) => /\/data\/[0-9a-f]{64}$/.test(name))).toHaveLength(2);
  expect(names.every((name) => name.startsWith(PREFIX))).toBe(true);
  expect(existsSync(join(system.config.dataDir, 'images'))).toBe(false);
});

it('serves the hit with the same bytes and etag, and 304 for a current copy', async () => {
  const params = { resize_width: '120', format_when_resize: 'png' };
  const first = await system.getImage('/bytes/photo.jpg', params);
  const firstBody = await bodyOf(first);
  const hit = await system.getImage('/bytes/photo.jpg', params);
  expect(hit.status).toBe(200);
  expect(hit.headers.get('x-cache')).toBe('HIT');
  expect((await bodyOf(hit)).equals(firstBody)).toBe(true);
  expect(hit.headers.get('etag')).toBe(first.headers.get('etag'));

  const notModified = await system.getImage('/bytes/photo.jpg', params, { headers: { 'If-None-Match': hit.headers.get('etag')! } });
  expect(notModified.status).toBe(304);
});

it('answers a byte range of a large original streamed from the store', async () => {
  const whole = await system.getImage('/bytes/large.jpg');
  expect(whole.status).toBe(200);
  expect((await bodyOf(whole)).equals(large)).toBe(true);

  const part = await system.getImage('/bytes/large.jpg', {}, { headers: { Range: 'bytes=500000-500099' } });
  expect(part.status).toBe(206);
  expect(part.headers.get('content-range')).toBe(`bytes 500000-500099/${large.length}`);
  expect((await bodyOf(part)).equals(large.subarray(500_000, 500_100))).toBe(true);
});

it('deletes the original and every variant from the bucket, and the next request is a miss again', async () => {
  await bodyOf(await system.getImage('/bytes/photo.jpg', { resize_width: '80' }));
  const hit = await system.getImage('/bytes/photo.jpg', { resize_width: '80' });
  expect(hit.headers.get('x-cache')).toBe('HIT');
  await bodyOf(hit);

  const before = await s3.list(PREFIX);
  const url = system.origin.url('/bytes/photo.jpg');
  const deleted = await system.request(`/delete_image?${new URLSearchParams({ url })}`, { method: 'DELETE' });
  expect(deleted.status).toBe(200);
  // The original and both variants of photo.jpg (120 px PNG, 80 px).
  expect(await deleted.json()).toEqual({ url, deleted: true, objectsRemoved: 3 });
  // Every object of photo.jpg's original is gone; large.jpg's are all still there.
  const left = await s3.list(PREFIX);
  const imagesOf = (names: string[]) => new Set(names.map((name) => name.split('/')[1]));
  expect(imagesOf(before).size).toBe(2);
  expect(imagesOf(left).size).toBe(1);
  expect(left).toEqual(before.filter((name) => imagesOf(left).has(name.split('/')[1])));
  expect(left.length).toBe(before.length - 6);

  const again = await system.getImage('/bytes/photo.jpg', { resize_width: '80' });
  expect(again.status).toBe(200);
  expect(again.headers.get('x-cache')).toBe('MISS');
  await bodyOf(again);
});

it('serves hits this host holds while S3 is down, answers 503 unavailable for the rest, and recovers', async () => {
  const params = { resize_width: '64' };
  await bodyOf(await system.getImage('/bytes/large.jpg', params));
  expect((await system.request('/readyz')).status).toBe(200);

  await s3.stop();
  try {
    const held = await system.getImage('/bytes/large.jpg', params);
    expect(held.status).toBe(200);
    expect(held.headers.get('x-cache')).toBe('HIT');
    await bodyOf(held);

    const notHeld = await system.getImage('/bytes/large.jpg', { resize_width: '65' });
    expect(notHeld.status).toBe(503);
    const body = (await notHeld.json()) as { error: string; message: string };
    expect(body.error).toBe('unavailable');
    expect(body.message).toMatch(/image store \(S3\)/);
    expect(notHeld.headers.get('retry-after')).not.toBeNull();
    // The readiness probe is rate-limited to one a second: wait for one that saw the outage.
    let ready = 200;
    for (let waited = 0; ready === 200 && waited < 10_000; waited += 200) {
      ready = (await system.request('/readyz')).status;
      if (ready === 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(ready).toBe(503);
  } finally {
    await s3.restart();
  }

  const back = await system.getImage('/bytes/large.jpg', { resize_width: '65' });
  expect(back.status).toBe(200);
  await bodyOf(back);
});
