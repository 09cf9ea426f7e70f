import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { type EmbeddedRedis, findRedisServer, startEmbeddedRedis } from '@image-cloud/local-cluster';
import { freePort, spawnBuiltApp, stopProcesses } from '@image-cloud/testing';

// A Redis that may evict keys would drop queued jobs and their locks without a word: a worker
// must refuse to start on one rather than lose work later. Its own redis-server, so the policy
// can be changed without touching the shared one.
const describeWithRedis = findRedisServer() ? describe : describe.skip;

describeWithRedis('an image worker on a Redis that evicts keys', () => {
  let redis: EmbeddedRedis;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'eviction-policy-'));
    redis = await startEmbeddedRedis({ port: await freePort(), dataDir });
  });

  afterAll(async () => {
    await redis?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses to start, naming the policy it found and the one it needs', async () => {
    const client = new IORedis(redis.url);
    await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await client.quit();

    const worker = spawnBuiltApp('image-worker', { REDIS_URL: redis.url, DATA_DIR: join(dataDir, 'images'), LOG_LEVEL: 'error' }, { stdio: 'pipe' });
    let stderr = '';
    worker.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = once(worker, 'exit');
    // Bounds the test only: a worker that starts anyway would otherwise run until killed.
    const timer = setTimeout(() => void stopProcesses([worker]), 20_000);
    const [code] = (await exit) as [number | null];
    clearTimeout(timer);

    expect(code).toBe(1);
    expect(stderr).toContain('"allkeys-lru"');
    expect(stderr).toContain('noeviction');
  });
});
