import { renderJobFor, renderJobIdOf } from '@image-cloud/contracts';
import { makeNoiseImage } from '@image-cloud/imaging/testing';
import { type SystemUnderTest, startSystem } from './system-under-test';

/** A big-lane processing_timeout is final for its variant: remembered, not re-rendered per request. */

describe('a variant over the big lane budget', () => {
  let system: SystemUnderTest;

  beforeAll(async () => {
    system = await startSystem({
      name: 'big-lane-timeout',
      // Every original starts in the big lane (header rule), whose budget is far below this render.
      config: { worker: { normalBudgetMs: 200, bigBudgetMs: 200, bigLanePixels: 1_000_000 }, server: { negativeCacheSeconds: 60 } },
    });
    system.origin.serveBytes('heavy.jpg', await makeNoiseImage(3000, 3000), 'image/jpeg');
  }, 60_000);

  afterAll(async () => {
    await system?.stop();
  });

  it('costs one big-lane budget: the next request is answered from the negative cache', async () => {
    const params = { resize_width: '2900', format_when_resize: 'webp' };
    const first = await system.getImage('/bytes/heavy.jpg', params);
    expect(first.status).toBe(504);
    expect(await first.json()).toMatchObject({ error: 'processing_timeout' });

    const url = system.origin.url('/bytes/heavy.jpg');
    const jobId = renderJobIdOf(renderJobFor(url, 'sync-normal', { width: 2900, fit: 'inside', format: 'webp' }));
    const runsOf = () => system.jobEvents.filter((event) => event.jobId === jobId).map((event) => [event.lane, event.outcome]);
    expect(runsOf()).toEqual([['sync-big', 'failed']]);

    const again = await system.getImage('/bytes/heavy.jpg', params);
    expect(again.status).toBe(504);
    expect(await again.json()).toMatchObject({ error: 'processing_timeout' });
    // Final, so HTTP caches may keep it for the negative cache time too.
    expect(again.headers.get('cache-control')).toBe('public, max-age=60');
    expect(await system.jobsCreated()).toBe(1);
    expect(runsOf()).toEqual([['sync-big', 'failed']]);
  }, 60_000);
});
