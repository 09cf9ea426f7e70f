import { setTimeout as sleep } from 'node:timers/promises';
import { fetchJobFor, renderJobFor, renderJobIdOf } from '@image-cloud/contracts';
import { decodeImage, makeAnimation, makeImage, makeNoiseImage } from '@image-cloud/imaging/testing';
import { FetchQueue, createFailFastConnection } from '@image-cloud/job-queue';
import { TEST_REDIS_URL } from '@image-cloud/testing';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/** Lanes, the 5-second rule and sync-before-async, against real workers, render children and Redis. */

describe('one job per core, sync before async, the budget rule', () => {
  let system: SystemUnderTest;

  beforeAll(async () => {
    system = await startSystem({
      name: 'lanes',
      config: { worker: { concurrency: 1, normalBudgetMs: 300, bigLanePixels: 20_000_000 }, fetch: { concurrency: 1, prefetchConcurrency: 1 } },
    });
    system.origin.serveBytes('heavy.jpg', await makeNoiseImage(3000, 3000), 'image/jpeg');
    system.origin.serveBytes('small.jpg', await makeImage({ width: 400, height: 300 }), 'image/jpeg');
    system.origin.serveBytes('small-2.jpg', await makeImage({ width: 400, height: 300 }), 'image/jpeg');
    system.origin.serveBytes('small-3.jpg', await makeImage({ width: 400, height: 300 }), 'image/jpeg');
    system.origin.serveBytes('giant.png', await makeImage({ width: 5000, height: 4500, format: 'png' }), 'image/png');
    // Warm the originals so the timings below measure processing, not downloads.
    for (const path of ['/bytes/heavy.jpg', '/bytes/small.jpg', '/bytes/small-2.jpg']) await bodyOf(await system.getImage(path));
  }, 60_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('moves an image over the normal budget to the big lane, frees the normal slot, and still answers', async () => {
    const events = system.jobEvents.length;
    const finished: string[] = [];
    const heavy = system.getImage('/bytes/heavy.jpg', { resize_width: '2800', format_when_resize: 'webp' }).then(async (response) => {
      finished.push('heavy');
      return { response, body: await bodyOf(response) };
    });
    await sleep(100);
    const small = system.getImage('/bytes/small.jpg', { resize_width: '100' }).then(async (response) => {
      finished.push('small');
      return { response, body: await bodyOf(response) };
    });

    const [heavyResult, smallResult] = await Promise.all([heavy, small]);
    expect(finished).toEqual(['small', 'heavy']);
    expect(smallResult.response.headers.get('x-lane')).toBe('normal');
    expect(heavyResult.response.status).toBe(200);
    expect(heavyResult.response.headers.get('x-lane')).toBe('big');
    expect(await decodeImage(heavyResult.body)).toMatchObject({ format: 'webp', width: 2800, height: 2800 });

    // Runs that rendered or rerouted (a waiting request may re-add a finished job; it finds the variant stored and renders nothing).
    const renders = system.jobEvents
      .slice(events)
      .filter((event) => event.stage === 'render' && (event.outcome === 'rerouted' || event.renderMs !== undefined));
    expect(renders.map((event) => [event.lane, event.outcome, event.rerouteReason])).toEqual([
      ['sync-normal', 'rerouted', 'budget'],
      // Really stopped: the one normal slot served the small image while the big lane still rendered the heavy one.
      ['sync-normal', 'ok', undefined],
      ['sync-big', 'ok', undefined],
    ]);
  }, 60_000);

  it('sends an obvious giant to the big lane from its header, without touching the normal lane', async () => {
    const response = await system.getImage('/bytes/giant.png', { resize_width: '300' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-lane')).toBe('big');
    await bodyOf(response);
    const url = system.origin.url('/bytes/giant.png');
    const jobId = renderJobIdOf(renderJobFor(url, 'sync-normal', { width: 300, fit: 'inside', format: 'jpeg' }));
    const giantEvents = system.jobEvents.filter((event) => event.jobId === jobId);
    expect(giantEvents.map((event) => [event.lane, event.outcome, event.rerouteReason])).toEqual([['sync-big', 'ok', undefined]]);
  }, 30_000);

  it('downloads for a waiting client before a backlog of prefetches', async () => {
    let prefetchesServed = 0;
    system.origin.route('/slow-prefetch', async (_req, res) => {
      await sleep(100);
      prefetchesServed++;
      res.writeHead(200, { 'content-type': 'image/jpeg' }).end(await makeImage({ width: 64, height: 64 }));
    });
    const producer = createFailFastConnection(TEST_REDIS_URL, 'lanes-spec');
    const queue = new FetchQueue(producer, system.config.queuePrefix, 1);
    try {
      await queue.enqueueBulk(Array.from({ length: 40 }, (_, i) => fetchJobFor(system.origin.url(`/slow-prefetch?i=${i}`), 'async')));
      await sleep(150);
      const started = Date.now();
      // Not cached: its download queues behind the one prefetch running, not the other ~38.
      const response = await system.getImage('/bytes/small-3.jpg', { resize_width: '120' });
      expect(response.status).toBe(200);
      await bodyOf(response);
      // It waited for the prefetch already running, not behind the other ~38.
      expect(prefetchesServed).toBeLessThanOrEqual(4);
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      await queue.queue('async').obliterate({ force: true });
      await queue.close();
      producer.disconnect();
    }
  }, 30_000);

  it('never ran more than one job or render at a time in the one-core worker', () => {
    expect(system.worker.stats().maxActiveJobs).toBe(1);
    expect(system.worker.stats().maxActiveRenders).toBe(1);
  });
});

describe('a worker owning two cores', () => {
  let system: SystemUnderTest;

  beforeAll(async () => {
    system = await startSystem({ name: 'two-slots', config: { worker: { concurrency: 2 } } });
    for (let i = 0; i < 12; i++) system.origin.serveBytes(`p${i}.jpg`, await makeImage({ width: 1600, height: 1200 }), 'image/jpeg');
  }, 30_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('runs at most two jobs at once, and does use both (instrumented)', async () => {
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => system.getImage(`/bytes/p${i}.jpg`, { resize_width: '200' })));
    expect(responses.map((r) => r.status)).toEqual(Array(12).fill(200));
    await Promise.all(responses.map(bodyOf));
    expect(system.worker.stats().maxActiveJobs).toBe(2);
    expect(system.worker.stats().maxActiveRenders).toBeLessThanOrEqual(2);
  }, 30_000);
});

describe('the big lane: routing by pixels × frames and by bytes, and its own budget', () => {
  let system: SystemUnderTest;
  let animation: Buffer;
  let noisy: Buffer;

  beforeAll(async () => {
    system = await startSystem({
      name: 'big-lane',
      config: { worker: { concurrency: 1, normalBudgetMs: 300, bigBudgetMs: 400, bigLanePixels: 1_000_000, bigLaneBytes: 200_000 } },
    });
    // 400×400 per frame is under the pixel threshold; ten frames are over it.
    animation = await makeAnimation({ width: 400, height: 400, frames: 10 });
    system.origin.serveBytes('frames.gif', animation, 'image/gif');
    // Few pixels (360 000), many bytes: noise does not compress.
    noisy = await makeNoiseImage(600, 600);
    system.origin.serveBytes('bytes.jpg', noisy, 'image/jpeg');
    system.origin.serveBytes('heavy.jpg', await makeNoiseImage(3000, 3000), 'image/jpeg');
    system.origin.serveBytes('small.jpg', await makeImage({ width: 400, height: 300 }), 'image/jpeg');
  }, 60_000);

  afterAll(async () => {
    await system?.stop();
  });

  const eventsOf = (path: string, transform: { width: number; format: 'jpeg' | 'gif' }) => {
    const url = system.origin.url(path);
    const jobId = renderJobIdOf(renderJobFor(url, 'sync-normal', { width: transform.width, fit: 'inside', format: transform.format }));
    return system.jobEvents.filter((event) => event.jobId === jobId).map((event) => [event.lane, event.outcome, event.rerouteReason]);
  };

  it('sends an animation to the big lane when its pixels × frames are over the threshold, and keeps every frame', async () => {
    expect(animation.length).toBeLessThan(200_000); // so only pixels × frames can route it
    const response = await system.getImage('/bytes/frames.gif', { resize_width: '100', format_when_resize: 'gif' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-lane')).toBe('big');
    expect(await decodeImage(await bodyOf(response))).toMatchObject({ format: 'gif', width: 100, frames: 10 });
    expect(eventsOf('/bytes/frames.gif', { width: 100, format: 'gif' })).toEqual([['sync-big', 'ok', undefined]]);
  }, 30_000);

  it('sends an original over the byte threshold to the big lane, whatever its pixels', async () => {
    expect(noisy.length).toBeGreaterThan(200_000);
    const response = await system.getImage('/bytes/bytes.jpg', { resize_width: '100' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-lane')).toBe('big');
    await bodyOf(response);
    expect(eventsOf('/bytes/bytes.jpg', { width: 100, format: 'jpeg' })).toEqual([['sync-big', 'ok', undefined]]);
  }, 30_000);

  it('answers 504 processing_timeout when the image runs over the big lane budget too, and keeps serving', async () => {
    const response = await system.getImage('/bytes/heavy.jpg', { resize_width: '2800', format_when_resize: 'webp' });
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: 'processing_timeout' });
    const small = await system.getImage('/bytes/small.jpg', { resize_width: '100' });
    expect(small.status).toBe(200);
    await bodyOf(small);
  }, 30_000);
});
