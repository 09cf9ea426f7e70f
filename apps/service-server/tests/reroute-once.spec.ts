import { makeNoiseImage } from '@image-cloud/imaging/testing';
import { type SystemUnderTest, bodyOf, startSystem } from './system-under-test';

/**
 * A job moved to the big lane is never run again in the normal lane, however often the waiting
 * requests re-check (reassure / idempotent re-enqueue) while the big lane renders it.
 */

let system: SystemUnderTest;

beforeAll(async () => {
  system = await startSystem({
    name: 'reroute-once',
    config: {
      // A small normal budget that this render always overruns, and a server that polls (and so
      // re-enqueues "in case the job vanished") every few hundred ms while the big lane works.
      worker: { concurrency: 1, normalBudgetMs: 300 },
      server: { waitTimeoutMs: 60_000, pollIntervalMs: 100 },
    },
  });
  system.origin.serveBytes('heavy.jpg', await makeNoiseImage(3000, 3000), 'image/jpeg');
  // The original is cached first, so the only job below is the render.
  expect((await system.getImage('/bytes/heavy.jpg', { no_image: 'true' })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await system?.stop();
});

it('runs an over-budget render in the normal lane once, then only in the big lane, for every waiting client', async () => {
  const before = system.jobEvents.length;
  const params = { resize_width: '2800', format_when_resize: 'webp' };
  const responses = await Promise.all([system.getImage('/bytes/heavy.jpg', params), system.getImage('/bytes/heavy.jpg', params)]);
  await Promise.all(responses.map(bodyOf));

  const events = system.jobEvents.slice(before);
  const normalRuns = events.filter((event) => event.lane.endsWith('normal') && event.outcome !== 'parked');
  const burns = normalRuns.filter((event) => event.outcome === 'rerouted' && event.rerouteReason !== 'header' && event.durationMs >= 250);
  console.log(
    `reroute-once: ${normalRuns.length} normal-lane runs (${burns.length} budget burns, ${burns.reduce((sum, event) => sum + event.durationMs, 0)} ms burnt): ` +
      JSON.stringify(events.map((event) => [event.lane, event.outcome, event.rerouteReason ?? event.error?.code ?? '', event.durationMs])),
  );

  expect(responses.map((response) => response.status)).toEqual([200, 200]);
  expect(responses.map((response) => response.headers.get('x-lane'))).toEqual(['big', 'big']);
  // One normal-lane run that ended in the reroute; no second run after the move.
  expect(normalRuns.map((event) => event.outcome)).toEqual(['rerouted']);
  expect(burns.length).toBe(1);
}, 90_000);

it('learns from the overrun: the next variant of the same image starts in the big lane without burning the budget', async () => {
  const before = system.jobEvents.length;
  const response = await system.getImage('/bytes/heavy.jpg', { resize_width: '2700', format_when_resize: 'webp' });
  await bodyOf(response);
  expect(response.status).toBe(200);
  expect(response.headers.get('x-lane')).toBe('big');
  const runs = system.jobEvents.slice(before).filter((event) => event.stage === 'render');
  // Predicted by the cost model the first run taught: no normal-lane run at all.
  expect(runs.filter((event) => event.lane.endsWith('normal'))).toEqual([]);
  expect(runs.some((event) => event.lane === 'sync-big' && event.outcome === 'ok')).toBe(true);
}, 90_000);
