import IORedis from 'ioredis';
import { queuedJobs } from './queued-jobs';
import { type SystemUnderTest, startSystem } from './system-under-test';

/**
 * fire_and_forget caps: a request over prefetch.maxUrlsPerRequest, or one that would take a tenant
 * over prefetch.maxOutstandingPerTenant, is refused whole with 429 and queues nothing.
 */

let system: SystemUnderTest;
let redis: IORedis;

beforeAll(async () => {
  // No workers: what was queued stays queued. Few ready jobs: almost everything waits in the backlog.
  system = await startSystem({
    name: 'prefetch-caps',
    startWorkers: false,
    config: { prefetch: { maxUrlsPerRequest: 70_000, maxOutstandingPerTenant: 100_000, readyJobs: 10 } },
  });
  redis = new IORedis(system.config.redisUrl, { maxRetriesPerRequest: 1 });
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await system?.stop();
});

const post = (urls: string[]) =>
  system.request('/fire_and_forget', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ urls }) });
const urlsOf = (name: string, count: number) => Array.from({ length: count }, (_, i) => `https://images.example-shop.de/${name}/${i}.jpg`);
/** Everything queued under the test's prefix: prefetch jobs in the fetch queue plus URLs in backlogs. */
const queued = async () => (await queuedJobs(system.config.redisUrl, system.config.queuePrefix)) + (await redis.llen(`${system.config.queuePrefix}:prefetch-backlog:open`));

it('refuses a request over maxUrlsPerRequest whole, with 429 naming the cap and the numbers', async () => {
  const response = await post(urlsOf('too-many', 70_001));
  expect(response.status).toBe(429);
  const body = (await response.json()) as { error: string; message: string };
  expect(body.error).toBe('rate_limited');
  expect(body.message).toMatch(/maxUrlsPerRequest.*70001.*70000/);
  expect(await queued()).toBe(0);
}, 60_000);

it('refuses a request that would take the tenant over maxOutstandingPerTenant whole, and takes one that fits', async () => {
  const first = await post(urlsOf('first', 60_000));
  expect(first.status).toBe(202);
  expect(await first.json()).toMatchObject({ accepted: 60_000 });
  expect(await queued()).toBe(60_000);

  const over = await post(urlsOf('second', 50_000));
  expect(over.status).toBe(429);
  const body = (await over.json()) as { error: string; message: string };
  expect(body.error).toBe('rate_limited');
  expect(body.message).toMatch(/maxOutstandingPerTenant/);
  expect(body.message).toMatch(/50000/);
  expect(body.message).toMatch(/100000/);
  expect(over.headers.get('retry-after')).toBeTruthy();
  expect(await queued()).toBe(60_000);

  const fits = await post(urlsOf('third', 30_000));
  expect(fits.status).toBe(202);
  expect(await queued()).toBe(90_000);
  // Operators see the backlog beside the queues: everything but the 10 ready jobs waits there.
  const metrics = await (await system.request('/metrics')).text();
  expect(metrics).toMatch(/image_cloud_queue_jobs\{[^}]*queue="prefetch-backlog"[^}]*state="waiting"[^}]*\} 89990/);
}, 120_000);

it('counts spellings of one URL, and URLs waiting in the backlog, as duplicates', async () => {
  const receipt = await (await post(['HTTPS://Images.Example-Shop.de:443/first/1.jpg', 'https://images.example-shop.de/spelt/1.jpg', 'https://images.example-shop.de/spelt/./1.jpg'])).json();
  expect(receipt).toMatchObject({ accepted: 1, duplicate: 2 });
});
