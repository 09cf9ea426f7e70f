import { availableParallelism } from 'node:os';
import { makeAnimation, makeImage } from '@image-cloud/imaging/testing';
import { startOriginServer } from '@image-cloud/testing';
import { startCluster } from './lib/cluster';
import { percentile, runLoad } from './lib/load';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';
import { wastedBudget } from './lib/wasted-budget';

/**
 * Isolation (issue 3): p50/p99 of small-image misses alone, and while 5% of the requests are big
 * animated GIFs (header-routed to the big lane). Target: p99 with the flood ≤ 1.5 × p99 alone.
 * Then the wasted budget (lib/wasted-budget.ts): normal-lane core-seconds burnt on GIF variants
 * that end in the big lane. Usage: npm run bench -- isolation [smallRequests=400] [gifVariants=6]
 */
async function main(): Promise<void> {
  const smallRequests = Number(process.argv[2] ?? 400);
  const gifVariants = Number(process.argv[3] ?? 6);
  const cores = availableParallelism();
  const origin = await startOriginServer();
  origin.serveBytes('small.jpg', await makeImage({ width: 800, height: 600 }), 'image/jpeg');
  // 400×400 × 200 frames = 32 MP·frames: over the 25 MP big-lane threshold, so routed by header.
  origin.serveBytes('big.gif', await makeAnimation({ width: 400, height: 400, frames: 200 }), 'image/gif');
  const cluster = await startCluster({ name: 'isolation', config: { allowPrivateOrigins: ['127.0.0.0/8'], server: { overloadWaitMs: 600_000 } } });
  const get = (path: string, params: string) => `${cluster.url}/get_image?url=${encodeURIComponent(origin.url(path))}&${params}`;
  const small = (run: string, i: number) => get(`/bytes/small.jpg?run=${run}&i=${i}`, 'resize_width=200&resize_height=200');
  const label = () => 'small';
  try {
    const alone = (await runLoad(Array.from({ length: smallRequests }, (_, i) => small('alone', i)), cores * 2, label)).get('small')!;

    // The same small clients, while one big animated GIF is requested (open loop, not waiting for
    // it) for every 19 small requests: 5% of all requests.
    const bigRequests: Array<Promise<{ ms: number; status: number }>> = [];
    const requestBig = (i: number) => {
      const t0 = performance.now();
      return fetch(get(`/bytes/big.gif?i=${i}`, 'resize_width=300&format_when_resize=gif')).then(async (response) => {
        await response.arrayBuffer();
        return { ms: performance.now() - t0, status: response.status };
      });
    };
    const smallUrls = Array.from({ length: smallRequests }, (_, i) => small('flood', i));
    const flood = await runLoad(smallUrls, cores * 2, label, (index) => {
      if (index % 19 === 18) bigRequests.push(requestBig(index));
    });
    const withFlood = flood.get('small')!;
    const bigResults = await Promise.all(bigRequests);
    const big = bigResults.length
      ? {
          requests: bigResults.length,
          latenciesMs: bigResults.map((r) => r.ms),
          statuses: bigResults.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {}),
        }
      : undefined;

    const p99Alone = percentile(alone.latenciesMs, 99);
    const p99Flood = percentile(withFlood.latenciesMs, 99);
    printTable(
      `Isolation: ${smallRequests} small misses (800×600 → 200×200 JPEG), ${cores * 2} clients, ${cores} pinned normal workers + 1 niced big worker`,
      ['run', 'small requests', 'p50 ms', 'p99 ms', 'errors', 'p99 vs alone'],
      [
        ['small alone', alone.requests, percentile(alone.latenciesMs, 50), p99Alone, alone.errors, 1],
        ['small with 5% big GIFs', withFlood.requests, percentile(withFlood.latenciesMs, 50), p99Flood, withFlood.errors, p99Flood / p99Alone],
      ],
    );
    if (big) {
      console.log(
        `big GIFs (400×400×200 frames → 300 px GIF, big lane): ${big.requests} requests, p50 ${percentile(big.latenciesMs, 50).toFixed(0)} ms, ` +
          `p99 ${percentile(big.latenciesMs, 99).toFixed(0)} ms, statuses ${JSON.stringify(big.statuses)}`,
      );
    }
    console.log(`p99 with flood / p99 alone = ${(p99Flood / p99Alone).toFixed(2)}  (target ≤ 1.5)`);
  } finally {
    await cluster.stop();
    await origin.close();
  }
  if (gifVariants > 0) await wastedBudget({ gifVariants, smallPerGif: 5 });
}

runBenchmark(main);
