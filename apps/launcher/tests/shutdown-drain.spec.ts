import { makeImage, makeNoiseImage } from '@image-cloud/imaging/testing';
import { type HttpOutcome, type OriginServer, type SlowDrip, httpGet, serveSlowDrip, startOriginServer, waitUntil } from '@image-cloud/testing';
import { type LaunchedCloud, launchCloud } from './launched-cloud';

/**
 * `npm start` stopped under load (SIGTERM to the launcher): the server is stopped first and drains
 * while the workers still finish their jobs, so every connection a client opened before the signal
 * gets an HTTP answer — an image, or 503 `unavailable` for those whose download could not finish
 * within the grace. None is cut without one.
 */

let origin: OriginServer;
/** Another domain, so its downloads do not queue behind the dripping ones for a download slot. */
let fastOrigin: OriginServer;
let drip: SlowDrip;
let cloud: LaunchedCloud;

beforeAll(async () => {
  origin = await startOriginServer();
  drip = serveSlowDrip(origin, { everyMs: 200 });
  fastOrigin = await startOriginServer({ host: '127.0.0.2' });
  fastOrigin.serveBytes('photo.jpg', await makeImage({ width: 800, height: 600 }), 'image/jpeg');
  fastOrigin.serveBytes('noise.jpg', await makeNoiseImage(1200, 1200), 'image/jpeg');
  cloud = await launchCloud(
    'launcher-shutdown-drain',
    {
      allowPrivateOrigins: ['127.0.0.0/8'],
      // Four downloads drip at once and the rest wait for a slot: longer than any grace.
      domains: { '127.0.0.1': 4 },
      fetch: { responseTimeoutMs: 5_000, totalTimeoutMs: 120_000 },
      server: { waitTimeoutMs: 120_000, overloadWaitMs: 120_000 },
      worker: { asyncAttempts: 1 },
    },
    { processes: 2, bigProcesses: 1 },
  );
}, 90_000);

afterAll(async () => {
  drip?.stop();
  await origin?.close();
  await fastOrigin?.close();
});

it('answers every connection opened before SIGTERM, with an image or 503 unavailable', async () => {
  const get = (params: Record<string, string>) => httpGet(`${cloud.url}/get_image?${new URLSearchParams(params)}`);
  // A miss is refused 503 until a worker has announced its slots; the first image proves they run.
  expect(await waitUntil(async () => (await get({ url: fastOrigin.url('/bytes/photo.jpg'), resize_width: '100' })).status === 200, 30_000)).toBe(true);

  const waiting: Array<Promise<HttpOutcome>> = [];
  for (let i = 0; i < 12; i++) waiting.push(get({ url: origin.url(`${drip.path}?i=${i}`), resize_width: '200' }));
  for (const width of [300, 400, 500, 600]) waiting.push(get({ url: fastOrigin.url('/bytes/noise.jpg'), resize_width: String(width), format_when_resize: 'avif' }));
  const hits = Array.from({ length: 8 }, () => get({ url: fastOrigin.url('/bytes/photo.jpg'), resize_width: '100' }));
  expect(await waitUntil(() => origin.concurrent() >= 4, 20_000)).toBe(true);
  // Connections are taken in the order they were opened: once the hits (sent last) are answered,
  // every request above has reached the server, and the signal finds them all in flight.
  await Promise.all(hits);

  const stopped = cloud.stop();
  const outcomes = [...(await Promise.all(waiting)), ...(await Promise.all(hits))];
  // The workers are stopped once the server has exited; they wait for their running downloads.
  drip.stop();
  await stopped;

  console.log(`launcher shutdown drain: answers ${JSON.stringify(outcomes.map((outcome) => outcome.status))}`);
  expect(outcomes.filter((outcome) => outcome.status === 'reset')).toEqual([]);
  for (const outcome of outcomes) {
    expect([200, 503]).toContain(outcome.status);
    if (outcome.status === 503) expect(JSON.parse(outcome.body.toString())).toMatchObject({ error: 'unavailable' });
  }
  const output = cloud.output();
  expect(output).toContain('[launcher] stopped.');
  // The order that keeps the workers working while the server drains.
  expect(output.indexOf('service-server: SIGTERM received')).toBeGreaterThan(-1);
  expect(output.indexOf('image-worker: SIGTERM received')).toBeGreaterThan(output.indexOf('service-server: SIGTERM received'));
}, 120_000);
