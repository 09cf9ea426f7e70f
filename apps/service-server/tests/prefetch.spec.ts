import { batchReceiptSchema } from '@image-cloud/contracts';
import { makeImage } from '@image-cloud/imaging/testing';
import { waitForBatch } from './prefetch-batches';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/** fire_and_forget: validate, dedupe, enqueue to the async lane, and report progress to the end. */

let system: SystemUnderTest;

beforeAll(async () => {
  system = await startSystem({ name: 'prefetch' });
  system.origin.serveBytes('pf.jpg', await makeImage({ width: 320, height: 240 }), 'image/jpeg');
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

const post = (body: unknown, raw?: string) =>
  system.request('/fire_and_forget', { method: 'POST', headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) });


it('accepts a batch, counts duplicates and rejections with reasons, and reports progress until complete', async () => {
  const fresh = Array.from({ length: 30 }, (_, i) => system.origin.url(`/bytes/pf.jpg?n=${i}`));
  const cached = [system.origin.url('/bytes/pf.jpg?cached=1'), system.origin.url('/bytes/pf.jpg?cached=2')];
  for (const url of cached) await bodyOf(await system.request(`/get_image?url=${encodeURIComponent(url)}`));
  const missing = system.origin.url('/status/404?pf=1');
  const urls: unknown[] = [...fresh, fresh[0], fresh[1], fresh[2], fresh[3], fresh[4], 'ftp://example.com/a.jpg', 42, 'not a url', ...cached, missing];

  const response = await post({ urls });
  expect(response.status).toBe(202);
  const receipt = batchReceiptSchema.parse(await response.json());
  expect(receipt).toMatchObject({ total: 41, accepted: 31, duplicate: 7, rejected: 3 });
  expect(receipt.rejections).toEqual([
    { index: 35, url: 'ftp://example.com/a.jpg', reason: 'must use http or https, but uses "ftp"' },
    { index: 36, url: '42', reason: 'not a string' },
    { index: 37, url: 'not a url', reason: 'must be an absolute http(s) URL, but received "not a url"' },
  ]);
  expect(response.headers.get('location')).toBe(`/fire_and_forget/${receipt.batchId}`);

  const progress = await waitForBatch(system.server.url, receipt.batchId, 25_000);
  expect(progress).toMatchObject({ total: 41, accepted: 31, duplicate: 7, rejected: 3, done: 30, failed: { origin_not_found: 1 }, pending: 0, complete: true });

  const local = await system.request(`/get_image?url=${encodeURIComponent(fresh[7])}&only_send_if_local=true`);
  expect(local.status).toBe(200);
  expect(local.headers.get('x-cache')).toBe('HIT');
  await bodyOf(local);
}, 30_000);

it('does not queue again what the last batch already fetched', async () => {
  const urls = Array.from({ length: 5 }, (_, i) => system.origin.url(`/bytes/pf.jpg?n=${i}`));
  const receipt = batchReceiptSchema.parse(await (await post({ urls })).json());
  expect(receipt).toMatchObject({ accepted: 0, duplicate: 5 });
});

it('answers bad bodies and unknown batches clearly', async () => {
  for (const [body, raw] of [[{}], [{ urls: 'http://x/y.jpg' }], [{ urls: [] }], [undefined, '{"urls": [']] as Array<[unknown, string?]>) {
    const response = await post(body, raw);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('bad_parameter');
  }
  const unknown = await system.request('/fire_and_forget/no-such-batch');
  expect(unknown.status).toBe(404);
  expect(((await unknown.json()) as { error: string }).error).toBe('not_found');
});
