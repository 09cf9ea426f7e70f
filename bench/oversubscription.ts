import { availableParallelism } from 'node:os';
import { photoOrigin, systemMissPath } from './lib/miss-path-run';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * The data behind policy 1 (issue 3): the same workers, the same miss-path load, once with one job
 * per core and once allowed 4 jobs per core. Usage: npm run bench -- oversubscription [copies=10]
 */
async function main(): Promise<void> {
  const copies = Number(process.argv[2] ?? 10);
  const cores = availableParallelism();
  const { origin, ...images } = await photoOrigin(copies);
  const { urls } = images;
  try {
    const one = await systemMissPath(images, { jobsPerWorker: 1, clients: cores * 8, name: 'one-per-core' });
    const four = await systemMissPath(images, { jobsPerWorker: 4, clients: cores * 8, name: 'four-per-core' });
    const again = await systemMissPath(images, { jobsPerWorker: 1, clients: cores * 8, name: 'one-per-core-again' });
    const baseline = { imagesPerSecond: (one.imagesPerSecond + again.imagesPerSecond) / 2, p99Ms: (one.p99Ms + again.p99Ms) / 2 };
    printTable(
      `Oversubscription, ${urls.length} misses (200×200 JPEG), ${cores} workers pinned one per core, ${cores * 8} clients; baseline = mean of the two 1-job runs`,
      ['jobs per core', 'images/s', 'p50 ms', 'p99 ms', 'errors', 'throughput vs baseline', 'p99 vs baseline'],
      [
        ['1 (first run)', one.imagesPerSecond, one.p50Ms, one.p99Ms, one.errors, one.imagesPerSecond / baseline.imagesPerSecond, one.p99Ms / baseline.p99Ms],
        ['4', four.imagesPerSecond, four.p50Ms, four.p99Ms, four.errors, four.imagesPerSecond / baseline.imagesPerSecond, four.p99Ms / baseline.p99Ms],
        ['1 (second run)', again.imagesPerSecond, again.p50Ms, again.p99Ms, again.errors, again.imagesPerSecond / baseline.imagesPerSecond, again.p99Ms / baseline.p99Ms],
      ],
    );
  } finally {
    await origin.close();
  }
}

runBenchmark(main);
