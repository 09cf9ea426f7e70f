import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { configFileSchema } from '@image-cloud/config';
import { fetchJobFor } from '@image-cloud/contracts';
import { FetchQueue } from '@image-cloud/job-queue';
import { startEmbeddedRedis } from '@image-cloud/local-cluster';
import { BatchTracker, PrefetchBacklog, PrefetchFeeder, PrefetchService } from '@image-cloud/prefetch';
import { LocalDirectoryStorage } from '@image-cloud/storage';
import { freePort } from '@image-cloud/testing';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * Redis memory per queued prefetch URL (issue 10 §3). One fire_and_forget of N URLs, queued two
 * ways in the same run, in a Redis of the benchmark's own (nothing else in it):
 * - baseline: one BullMQ job per URL in the fetch queue (how prefetches were queued before);
 * - backlog: PrefetchService as the server runs it: compact per-tenant backlog entries, and the
 *   fetch queue topped up to prefetch.readyJobs (default 1 000) by the feeder.
 * Bytes per URL = INFO memory used_memory after minus before, divided by N. No worker runs, so
 * everything stays queued. Always measured at 20 000 URLs, and at the argument when it differs.
 * Usage: npm run bench -- prefetch-memory [urlsPerTenant=20000]
 */

/** As the server runs by default. */
const READY_JOBS = configFileSchema.parse({}).prefetch.readyJobs;
const CHUNK = 1_000;

const urlsOf = (count: number) => Array.from({ length: count }, (_, i) => `https://images.example-shop.de/products/${i}/main-photo.jpg`);

async function usedMemory(redis: IORedis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
}

/** used_memory growth while `queue` runs, after emptying Redis. */
async function growth(redis: IORedis, queue: () => Promise<void>): Promise<number> {
  await redis.flushall();
  const before = await usedMemory(redis);
  await queue();
  return (await usedMemory(redis)) - before;
}

async function main(): Promise<void> {
  const counts = [...new Set([20_000, Number(process.argv[2] ?? 20_000)])];
  const dir = await mkdtemp(join(tmpdir(), 'prefetch-memory-'));
  const embedded = await startEmbeddedRedis({ port: await freePort(), dataDir: dir });
  const redis = new IORedis(embedded.url, { maxRetriesPerRequest: 1 });
  const prefix = 'bench-prefetch-memory';
  const storage = new LocalDirectoryStorage({ dataDir: join(dir, 'data') });
  const queue = new FetchQueue(redis, prefix, 3);
  const batches = new BatchTracker(redis, prefix);
  const backlog = new PrefetchBacklog(redis, prefix);
  const feeder = new PrefetchFeeder({ redis, prefix, backlog, queue, batches, readyJobs: READY_JOBS });
  const service = new PrefetchService({ storage, queue, batches, backlog, feeder, caps: { maxUrlsPerRequest: 1_000_000, maxOutstandingPerTenant: 1_000_000 } });
  const rows: Array<Array<string | number>> = [];
  try {
    for (const count of counts) {
      const urls = urlsOf(count);
      const baseline = await growth(redis, async () => {
        for (let start = 0; start < count; start += CHUNK) {
          const jobs = urls.slice(start, start + CHUNK).map((url) => fetchJobFor(url, 'async', { batchId: 'bench-batch-0123456' }));
          await queue.enqueueBulk(jobs, { fairShareKey: 'shop' });
        }
      });
      const compact = await growth(redis, async () => {
        const receipt = await service.submit(urls, 'shop');
        if (receipt.accepted !== count) throw new Error(`expected ${count} accepted, got ${receipt.accepted}`);
      });
      rows.push([count, 'BullMQ job per URL (baseline)', baseline / 1024 / 1024, baseline / count, 1]);
      rows.push([count, `backlog + ${READY_JOBS} ready jobs`, compact / 1024 / 1024, compact / count, compact / baseline]);
    }
  } finally {
    await queue.close();
    redis.disconnect();
    await storage.close();
    await embedded.stop();
    await rm(dir, { recursive: true, force: true });
  }
  printTable('Redis memory per queued prefetch URL (used_memory delta / URLs)', ['URLs', 'queued as', 'MB', 'bytes per URL', 'ratio to baseline'], rows);
}

runBenchmark(main);
