import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeNoiseImage } from '@image-cloud/imaging/testing';
import {
  type OriginServer,
  TEST_REDIS_URL,
  countKeysWithPrefix,
  deleteKeysWithPrefix,
  type HttpOutcome,
  type SlowDrip,
  freePort,
  httpGet,
  serveSlowDrip,
  spawnBuiltApp,
  startOriginServer,
  stopProcesses,
  uniquePrefix,
  waitForHttp,
  waitUntil,
} from '@image-cloud/testing';

/**
 * SIGTERM to a server with clients waiting on downloads that never finish (and on renders that
 * do): every client gets an HTTP answer — its image, or 503 `unavailable` with Retry-After and
 * Connection: close — and none sees its connection reset when the server's grace ends. Real
 * processes from the built bundles; the worker keeps running while the server drains.
 */

const WAITING_ON_SLOW_ORIGIN = 16;
const prefix = uniquePrefix('shutdown-drain');
let dataDir: string;
let origin: OriginServer;
let drip: SlowDrip;
let server: ChildProcess;
let worker: ChildProcess;
let serverUrl: string;
let serverLog = '';

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'shutdown-drain-'));
  origin = await startOriginServer();
  drip = serveSlowDrip(origin, { everyMs: 200 });
  origin.serveBytes('noise.jpg', await makeNoiseImage(1200, 1200), 'image/jpeg');
  const configPath = join(dataDir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      allowPrivateOrigins: ['127.0.0.0/8'],
      // Four downloads drip at once, the other twelve wait for a download slot: all sixteen wait
      // far longer than the server's grace, so only the drain can answer them.
      domains: { '127.0.0.1': 4 },
      fetch: { responseTimeoutMs: 5_000, totalTimeoutMs: 120_000 },
      server: { waitTimeoutMs: 120_000, overloadWaitMs: 120_000 },
      worker: { concurrency: 1, asyncAttempts: 1 },
    }),
  );
  const port = await freePort();
  serverUrl = `http://127.0.0.1:${port}`;
  const env = { HOST: '127.0.0.1', PORT: String(port), REDIS_URL: TEST_REDIS_URL, DATA_DIR: dataDir, CONFIG: configPath, QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn' };
  server = spawnBuiltApp('service-server', env, { stdio: 'pipe' });
  server.stdout!.on('data', (chunk) => (serverLog += chunk));
  server.stderr!.on('data', (chunk) => (serverLog += chunk));
  worker = spawnBuiltApp('image-worker', { ...env, WORKER_LANE: 'normal' });
  await waitForHttp(`${serverUrl}/readyz`);
}, 60_000);

afterAll(async () => {
  // Downloads end at once, so the worker's own shutdown does not wait for them.
  drip?.stop();
  await stopProcesses([server, worker].filter(Boolean));
  await origin?.close();
  await rm(dataDir, { recursive: true, force: true });
  await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
  expect(await countKeysWithPrefix(TEST_REDIS_URL, prefix)).toBe(0);
}, 120_000);

it('answers every waiting client on SIGTERM (image or 503 unavailable), resets none', async () => {
  const get = (params: Record<string, string>) => httpGet(`${serverUrl}/get_image?${new URLSearchParams(params)}`);
  // A miss is refused 503 until the worker has announced itself: wait for a first image.
  expect(await waitUntil(async () => (await get({ url: origin.url('/bytes/noise.jpg'), resize_width: '64' })).status === 200, 30_000)).toBe(true);

  const waiting: Array<Promise<HttpOutcome>> = [];
  for (let i = 0; i < WAITING_ON_SLOW_ORIGIN; i++) waiting.push(get({ url: origin.url(`${drip.path}?i=${i}`), resize_width: '200' }));
  // Renders that the worker may finish while the server drains.
  const rendering = [400, 500].map((width) => get({ url: origin.url('/bytes/noise.jpg'), resize_width: String(width), format_when_resize: 'avif' }));
  let slowAnswered = 0;
  for (const request of waiting) void request.then(() => slowAnswered++);
  expect(await waitUntil(() => origin.concurrent() >= 4, 20_000)).toBe(true);
  // The premise: nobody waiting on the slow origin has been answered before the signal.
  expect(slowAnswered).toBe(0);

  const exited = once(server, 'exit');
  server.kill('SIGTERM');
  // A client that connects while the server drains is told so, not cut off.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const late = await get({ url: origin.url('/bytes/noise.jpg'), resize_width: '64' });
  const outcomes = await Promise.all([...waiting, ...rendering]);
  const [code] = await exited;

  console.log(`shutdown drain: answers ${JSON.stringify(outcomes.map((outcome) => outcome.status))}, late request ${late.status}`);
  expect(outcomes.filter((outcome) => outcome.status === 'reset')).toEqual([]);
  for (const outcome of [...outcomes, late]) {
    expect([200, 503]).toContain(outcome.status);
    if (outcome.status !== 503) continue;
    expect(JSON.parse(outcome.body.toString())).toMatchObject({ error: 'unavailable', message: expect.stringMatching(/shutting down/) });
    expect(outcome.headers['retry-after']).toBe('1');
    expect(outcome.headers['connection']).toBe('close');
    expect(outcome.headers['cache-control']).toBe('no-store');
  }
  expect(late.status).toBe(503);
  expect(outcomes.slice(0, WAITING_ON_SLOW_ORIGIN).every((outcome) => outcome.status === 503)).toBe(true);
  expect(code).toBe(0);
  expect(serverLog).toMatch(/answered the requests still waiting 503/);
}, 90_000);
