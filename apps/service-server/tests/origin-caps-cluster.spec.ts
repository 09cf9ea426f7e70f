import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFailFastConnection } from '@image-cloud/job-queue';
import { LaneLoad } from '@image-cloud/lane-policy';
import {
  type OriginServer,
  TEST_REDIS_URL,
  deleteKeysWithPrefix,
  freePort,
  spawnBuiltApp,
  startOriginServer,
  stopProcesses,
  uniquePrefix,
  waitForHttp,
} from '@image-cloud/testing';
import { submitBatch, waitForBatch } from './prefetch-batches';

/**
 * Policy 6 across processes: two ServiceServer processes and two worker processes (the built
 * bundles, as production runs them) share only Redis, so only Redis can hold the per-domain caps.
 * 127.0.0.2 is domain "a" (cap 2), 127.0.0.3 is "b" (cap 5), 127.0.0.1 takes the default (3).
 */

const CAPS = { a: 2, b: 5, default: 3 };
const SLOT_LEASE_MS = 1_500;
const WORKER_SLOTS = 6;
const prefix = uniquePrefix('origin-caps-cluster');
const processes: ChildProcess[] = [];
const workers: ChildProcess[] = [];
const redis = createFailFastConnection(TEST_REDIS_URL, 'spec-origin-caps-cluster');
let env: Record<string, string>;
let dataDir: string;
let servers: string[];
let origins: { server: OriginServer; answerMs: number }[];

function startWorker(): ChildProcess {
  const worker = spawnBuiltApp('image-worker', { ...env, WORKER_LANE: 'normal' });
  processes.push(worker);
  workers.push(worker);
  return worker;
}

/** Waits until the live workers announce `slots` job slots (their Redis heartbeat). */
async function waitForWorkerSlots(slots: number): Promise<void> {
  const load = new LaneLoad(redis, prefix);
  const giveUpAt = Date.now() + 20_000;
  while ((await load.capacity('normal')).slots < slots) {
    if (Date.now() > giveUpAt) throw new Error(`workers did not announce ${slots} slots in time`);
    await sleep(100);
  }
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'origin-caps-cluster-'));
  origins = [
    { server: await startOriginServer({ host: '127.0.0.1' }), answerMs: 30 },
    { server: await startOriginServer({ host: '127.0.0.2' }), answerMs: 20 },
    { server: await startOriginServer({ host: '127.0.0.3' }), answerMs: 50 },
  ];
  const configPath = join(dataDir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify({
      allowPrivateOrigins: ['127.0.0.0/8'],
      domains: { default: CAPS.default, '127.0.0.2': CAPS.a, '127.0.0.3': CAPS.b },
      worker: { concurrency: WORKER_SLOTS },
      fetch: { slotLeaseMs: SLOT_LEASE_MS },
      server: { waitTimeoutMs: 20_000 },
    }),
  );
  env = { HOST: '127.0.0.1', REDIS_URL: TEST_REDIS_URL, DATA_DIR: dataDir, CONFIG: configPath, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' };
  const ports = [await freePort(), await freePort()];
  servers = ports.map((port) => `http://127.0.0.1:${port}`);
  for (const port of ports) processes.push(spawnBuiltApp('service-server', { ...env, PORT: String(port) }));
  startWorker();
  startWorker();
  await Promise.all(servers.map((server) => waitForHttp(`${server}/readyz`)));
  await waitForWorkerSlots(2 * WORKER_SLOTS);
}, 60_000);

afterAll(async () => {
  await stopProcesses(processes);
  await Promise.all(origins.map(({ server }) => server.close()));
  redis.disconnect();
  await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
  await rm(dataDir, { recursive: true, force: true });
});

it('holds every domain cap across two servers and two workers while 10 000 mixed URLs complete', async () => {
  // Each origin answers slowly enough that its cap, not the workers, limits it (100 downloads/s each).
  const urls = Array.from({ length: 10_000 }, (_, i) => {
    const { server, answerMs } = origins[i % 3]!;
    return server.url(`/slow?ms=${answerMs}&n=${i}`);
  });
  // Half the URLs through each server; the workers take jobs from both batches.
  const batches = await Promise.all([submitBatch(servers[0]!, urls.slice(0, 5_000)), submitBatch(servers[1]!, urls.slice(5_000))]);
  const progress = await Promise.all(batches.map((batchId, i) => waitForBatch(servers[i]!, batchId, 300_000)));

  for (const part of progress) expect(part).toMatchObject({ accepted: 5_000, done: 5_000, pending: 0, complete: true, failed: {} });
  const [plain, a, b] = origins.map(({ server }) => server);
  expect(a!.maxConcurrent()).toBeLessThanOrEqual(CAPS.a);
  expect(b!.maxConcurrent()).toBeLessThanOrEqual(CAPS.b);
  expect(plain!.maxConcurrent()).toBeLessThanOrEqual(CAPS.default);
  expect([a!.maxConcurrent(), b!.maxConcurrent(), plain!.maxConcurrent()]).toEqual([CAPS.a, CAPS.b, CAPS.default]);
  expect([plain!.hits(), a!.hits(), b!.hits()]).toEqual([3_334, 3_333, 3_333]);
}, 330_000);

it('frees the slots of workers killed mid-download once their leases run out', async () => {
  const a = origins[1]!.server;
  a.resetHits();
  // Both of a's slots are taken by downloads that hang, then every worker is SIGKILLed.
  const hung = new AbortController();
  const hanging = [1, 2].map((i) =>
    fetch(`${servers[0]}/get_image?url=${encodeURIComponent(a.url(`/slow?ms=60000&hung=${i}`))}`, { signal: hung.signal }).catch(() => undefined),
  );
  const giveUpAt = Date.now() + 10_000;
  while (a.concurrent() < 2 && Date.now() < giveUpAt) await sleep(20);
  expect(a.concurrent()).toBe(2);
  await stopProcesses(workers.splice(0), 'SIGKILL');

  // A fresh worker gets a slot of a once the dead workers' leases have run out; without expiry it
  // would wait out slotWaitMs and the request would fail.
  startWorker();
  const response = await fetch(`${servers[1]}/get_image?url=${encodeURIComponent(a.url('/slow?ms=10&after-kill=1'))}`);
  expect(response.status).toBe(200);
  expect(a.maxConcurrent()).toBeLessThanOrEqual(CAPS.a);
  hung.abort();
  await Promise.all(hanging);
}, 60_000);
