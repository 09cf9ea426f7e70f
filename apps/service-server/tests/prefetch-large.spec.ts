import { type SystemUnderTest, startSystem } from './system-under-test';

/** 100 000 URLs in one request: accepted in bulk while the server keeps answering others. */

let system: SystemUnderTest;

beforeAll(async () => {
  // No workers: the jobs stay queued, so the test sees exactly what was enqueued.
  system = await startSystem({ name: 'prefetch-large', startWorkers: false });
}, 30_000);

afterAll(async () => {
  await system?.stop();
});

it('takes 100 000 URLs without blocking the event loop', async () => {
  const urls = Array.from({ length: 100_000 }, (_, i) => `https://images.example-shop.de/p/${i}.jpg`);
  let submitting = true;
  let healthAnswers = 0;
  const submit = system
    .request('/fire_and_forget', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ urls: [...urls, ...urls.slice(0, 10)] }) })
    .finally(() => (submitting = false));
  const probe = (async () => {
    while (submitting) {
      if ((await system.request('/healthz')).ok && submitting) healthAnswers++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const response = await submit;
  await probe;
  expect(response.status).toBe(202);
  expect(await response.json()).toMatchObject({ total: 100_010, accepted: 100_000, duplicate: 10, rejected: 0 });
  // The server answered other requests while it worked through the list.
  expect(healthAnswers).toBeGreaterThanOrEqual(3);
}, 120_000);

it('counts URLs already queued by an earlier batch as duplicates', async () => {
  const urls = Array.from({ length: 5 }, (_, i) => `https://images.example-shop.de/queued/${i}.jpg`);
  const post = () => system.request('/fire_and_forget', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ urls }) });
  expect(await (await post()).json()).toMatchObject({ accepted: 5, duplicate: 0 });
  expect(await (await post()).json()).toMatchObject({ accepted: 0, duplicate: 5 });
});
