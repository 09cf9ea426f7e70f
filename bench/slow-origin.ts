import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeImage } from '@image-cloud/imaging/testing';
import { serveSlowDrip, startOriginServer } from '@image-cloud/testing';
import { submitBatch, waitForBatch } from '../apps/service-server/tests/prefetch-batches';
import { startCluster } from './lib/cluster';
import { type LoadResult, percentile, runLoad } from './lib/load';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * Slow origins vs fast misses: p50/p99 of misses on a fast origin (800×600 → 200×200, unique URLs)
 * alone, then while 10 downloads drip from a slow origin (one byte per 100 ms, never done before
 * fetch.totalTimeoutMs; 6 waited for via get_image, 4 prefetched via fire_and_forget), then alone
 * again. Target: p99 with slow origins ≤ 1.5 × quiet (mean p99 of the two quiet runs).
 * Usage: npm run bench -- slow-origin [requests=300]
 */

const SLOW_WAITED = 6;
const SLOW_PREFETCHED = 4;

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 300);
  const cores = availableParallelism();
  const clients = cores * 2;
  const fast = await startOriginServer({ host: '127.0.0.1' });
  fast.serveBytes('small.jpg', await makeImage({ width: 800, height: 600 }), 'image/jpeg');
  const slow = await startOriginServer({ host: '127.0.0.2' });
  const drip = serveSlowDrip(slow, { everyMs: 100 });
  const cluster = await startCluster({
    name: 'slow-origin',
    config: {
      allowPrivateOrigins: ['127.0.0.0/8'],
      // The slow domain's cap lets all ten be open; the downloads stay open through the run.
      domains: { '127.0.0.2': 10 },
      fetch: { totalTimeoutMs: 20_000 },
      server: { overloadWaitMs: 600_000 },
      worker: { asyncAttempts: 1 },
    },
  });
  const getImage = (url: string) => `${cluster.url}/get_image?url=${encodeURIComponent(url)}&resize_width=200&resize_height=200`;
  const fastRun = async (run: string): Promise<LoadResult> =>
    (await runLoad(Array.from({ length: requests }, (_, i) => getImage(fast.url(`/bytes/small.jpg?run=${run}&i=${i}`))), clients)).get('all')!;
  try {
    const quiet = await fastRun('quiet');

    // Ten slow downloads in flight: six clients waiting for them, four prefetches.
    const slowUrl = (i: number) => slow.url(`${drip.path}?i=${i}`);
    const waiting = Array.from({ length: SLOW_WAITED }, (_, i) =>
      fetch(getImage(slowUrl(i))).then(
        async (response) => (await response.arrayBuffer(), response.status),
        () => -1,
      ),
    );
    const batchId = await submitBatch(cluster.url, Array.from({ length: SLOW_PREFETCHED }, (_, i) => slowUrl(SLOW_WAITED + i)));
    const giveUpAt = Date.now() + 3_000;
    while (slow.concurrent() < SLOW_WAITED + SLOW_PREFETCHED && Date.now() < giveUpAt) await sleep(20);
    const openAtStart = slow.concurrent();
    const withSlow = await fastRun('slow');
    const openAtEnd = slow.concurrent();
    // End the slow downloads (the origin drops them and answers 404 after) before the last run.
    drip.stop();
    const slowStatuses = await Promise.all(waiting);
    const batch = await waitForBatch(cluster.url, batchId, 60_000);

    const quietAgain = await fastRun('quiet-again');
    const p99Quiet = (percentile(quiet.latenciesMs, 99) + percentile(quietAgain.latenciesMs, 99)) / 2;
    const row = (run: string, result: LoadResult, open: string) => {
      const p99 = percentile(result.latenciesMs, 99);
      return [run, result.requests, percentile(result.latenciesMs, 50), p99, result.errors, p99 / p99Quiet, open];
    };
    printTable(
      `Fast misses (800×600 → 200×200 JPEG, unique URLs), ${clients} clients, with and without ${SLOW_WAITED + SLOW_PREFETCHED} slow-dripping downloads (${SLOW_WAITED} get_image, ${SLOW_PREFETCHED} fire_and_forget); baseline = mean p99 of the quiet runs`,
      ['run', 'requests', 'p50 ms', 'p99 ms', 'errors', 'p99 vs quiet', 'slow downloads open (start → end)'],
      [
        row('quiet (before)', quiet, '0'),
        row('with slow origins', withSlow, `${openAtStart} → ${openAtEnd}`),
        row('quiet (after)', quietAgain, '0'),
      ],
    );
    console.log(
      `most slow downloads open at once: ${slow.maxConcurrent()}; slow get_image statuses ${JSON.stringify(slowStatuses)}; ` +
        `prefetch batch ${batch.complete ? 'complete' : 'NOT complete'} (failed ${JSON.stringify(batch.failed)}); fast-run statuses ${JSON.stringify(withSlow.statuses)}`,
    );
    console.log(`p99 with slow origins / p99 quiet = ${(percentile(withSlow.latenciesMs, 99) / p99Quiet).toFixed(2)}  (target ≤ 1.5)`);
  } finally {
    drip.stop();
    await cluster.stop();
    await Promise.all([fast.close(), slow.close()]);
  }
}

runBenchmark(main);
