import { availableParallelism } from 'node:os';
import { fetchJobFor } from '@image-cloud/contracts';
import { makeImage } from '@image-cloud/imaging/testing';
import { FetchQueue, createFailFastConnection } from '@image-cloud/job-queue';
import { TEST_REDIS_URL, startOriginServer } from '@image-cloud/testing';
import { startCluster } from './lib/cluster';
import { percentile, runLoad } from './lib/load';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * Sync under async backlog (issue 3): p99 of get_image misses with 10 000 prefetch jobs queued vs
 * with none. Target: ≤ 1.5×. Usage: npm run bench -- sync-under-backlog [prefetchJobs=10000] [syncRequests=300]
 */
async function main(): Promise<void> {
  const prefetchJobs = Number(process.argv[2] ?? 10_000);
  const syncRequests = Number(process.argv[3] ?? 300);
  const cores = availableParallelism();
  const origin = await startOriginServer();
  origin.serveBytes('wanted.jpg', await makeImage({ width: 800, height: 600 }), 'image/jpeg');
  origin.serveBytes('prefetch.jpg', await makeImage({ width: 1200, height: 900 }), 'image/jpeg');
  const cluster = await startCluster({ name: 'backlog', config: { allowPrivateOrigins: ['127.0.0.0/8'], server: { overloadWaitMs: 600_000 } } });
  const producer = createFailFastConnection(TEST_REDIS_URL, 'bench-backlog');
  const fetchQueue = new FetchQueue(producer, cluster.prefix, 1);
  const queue = fetchQueue.queue('async');
  const sync = (run: string) =>
    Array.from({ length: syncRequests }, (_, i) => `${cluster.url}/get_image?url=${encodeURIComponent(origin.url(`/bytes/wanted.jpg?run=${run}&i=${i}`))}&resize_width=200&resize_height=200`);
  try {
    const quiet = (await runLoad(sync('quiet'), cores * 2)).get('all')!;

    // The backlog: prefetches queued in the fetch stage, added in bulk.
    const jobs = Array.from({ length: prefetchJobs }, (_, i) => fetchJobFor(origin.url(`/bytes/prefetch.jpg?n=${i}`), 'async'));
    for (let i = 0; i < jobs.length; i += 1000) await fetchQueue.enqueueBulk(jobs.slice(i, i + 1000));
    const queuedBefore = await queue.getPrioritizedCount();
    const busy = (await runLoad(sync('backlog'), cores * 2)).get('all')!;
    const queuedAfter = await queue.getPrioritizedCount();
    await queue.obliterate({ force: true });
    const quietAgain = (await runLoad(sync('quiet-again'), cores * 2)).get('all')!;

    // Baseline: the mean of the runs before and after, so warm-up and drift do not favour either side.
    const p99Quiet = (percentile(quiet.latenciesMs, 99) + percentile(quietAgain.latenciesMs, 99)) / 2;
    const p99Busy = percentile(busy.latenciesMs, 99);
    printTable(
      `Sync misses (800×600 → 200×200 JPEG), ${cores * 2} clients, with and without ${prefetchJobs} prefetch jobs queued in the fetch stage; baseline = mean p99 of the runs before and after`,
      ['run', 'sync requests', 'p50 ms', 'p99 ms', 'errors', 'p99 vs quiet', 'async jobs queued (start → end)'],
      [
        ['no backlog (before)', quiet.requests, percentile(quiet.latenciesMs, 50), percentile(quiet.latenciesMs, 99), quiet.errors, percentile(quiet.latenciesMs, 99) / p99Quiet, '0'],
        [`${prefetchJobs} queued`, busy.requests, percentile(busy.latenciesMs, 50), p99Busy, busy.errors, p99Busy / p99Quiet, `${queuedBefore} → ${queuedAfter}`],
        ['no backlog (after)', quietAgain.requests, percentile(quietAgain.latenciesMs, 50), percentile(quietAgain.latenciesMs, 99), quietAgain.errors, percentile(quietAgain.latenciesMs, 99) / p99Quiet, '0'],
      ],
    );
    console.log(`p99 with backlog / p99 without = ${(p99Busy / p99Quiet).toFixed(2)}  (target ≤ 1.5)`);
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await fetchQueue.close();
    producer.disconnect();
    await cluster.stop();
    await origin.close();
  }
}

runBenchmark(main);
