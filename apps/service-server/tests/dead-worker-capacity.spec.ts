import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { LaneLoad } from '@image-cloud/lane-policy';
import { TEST_REDIS_URL, countKeysWithPrefix, deleteKeysWithPrefix, spawnBuiltApp, stopProcesses, uniquePrefix } from '@image-cloud/testing';
import { descendantsOf, killLeftovers } from './process-tree';
import { waitUntil } from './settled';

/**
 * A SIGKILLed render worker cannot say goodbye: its slots must stop counting as capacity (admission
 * estimates, the overload guard) by the expiry of its last heartbeat, a few seconds on Redis's clock.
 * The waits are bounded so the test cannot hang; nothing else about speed is asserted.
 */

const prefix = uniquePrefix('dead-worker-capacity');
const processes: ChildProcess[] = [];
const orphans: number[] = [];
let dataDir: string;
let redis: IORedis;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'dead-worker-capacity-'));
  redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await stopProcesses(processes);
  killLeftovers(orphans);
  redis.disconnect();
  await rm(dataDir, { recursive: true, force: true });
  await deleteKeysWithPrefix(TEST_REDIS_URL, prefix);
  expect(await countKeysWithPrefix(TEST_REDIS_URL, prefix)).toBe(0);
});

it('stops counting a SIGKILLed worker as capacity within a few seconds', async () => {
  const lanes = new LaneLoad(redis, prefix);
  const worker = spawnBuiltApp('image-worker', {
    REDIS_URL: TEST_REDIS_URL,
    DATA_DIR: dataDir,
    QUEUE_PREFIX: prefix,
    WORKER_LANE: 'normal',
    LOG_LEVEL: 'silent',
  });
  processes.push(worker);
  expect(await waitUntil(async () => (await lanes.capacity('normal')).slots > 0, 30_000)).toBe(true);

  // Killed right after a beat, so its slots live the full expiry of that beat (4 s).
  const expiry = async () => Number((await redis.zrange(`${prefix}:lane-workers:normal`, 0, 0, 'WITHSCORES'))[1]);
  const before = await expiry();
  expect(await waitUntil(async () => (await expiry()) !== before, 10_000)).toBe(true);
  orphans.push(...descendantsOf(worker.pid!));
  worker.kill('SIGKILL');
  const gone = await waitUntil(async () => (await lanes.capacity('normal')).slots === 0, 5_000);
  expect(gone).toBe(true);
}, 60_000);
