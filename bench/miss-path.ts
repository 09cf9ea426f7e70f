import { availableParallelism } from 'node:os';
import { photoOrigin, rawSharp, systemMissPath } from './lib/miss-path-run';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * Miss-path throughput vs raw sharp, same run (issue 3): images/s through the whole system
 * (HTTP → queue → worker → storage → response, 200×200 JPEG q80, originals cached, variants not)
 * divided by images/s of a plain in-process sharp loop doing the same resizes on the same cores.
 * Target: ratio ≥ 0.9. Usage: npm run bench -- miss-path [copies=5]
 */
async function main(): Promise<void> {
  const copies = Number(process.argv[2] ?? 5);
  const cores = availableParallelism();
  const { origin, urls, photos } = await photoOrigin(copies);
  try {
    const before = await rawSharp(photos, cores);
    const system = await systemMissPath(urls, { jobsPerWorker: 1, clients: cores * 4, name: 'miss-path' });
    const after = await rawSharp(photos, cores);
    const baseline = (before.imagesPerSecond + after.imagesPerSecond) / 2;
    printTable(
      `Miss path, ${urls.length} images (${copies} × 20 bench photos), ${cores} cores; baseline = mean of raw sharp before and after`,
      ['run', 'images/s', 'p50 ms', 'p99 ms', 'errors', 'ratio vs raw sharp'],
      [
        ['raw sharp, in-process (before)', before.imagesPerSecond, before.p50Ms, before.p99Ms, 0, before.imagesPerSecond / baseline],
        ['whole system, 1 job per core', system.imagesPerSecond, system.p50Ms, system.p99Ms, system.errors, system.imagesPerSecond / baseline],
        ['raw sharp, in-process (after)', after.imagesPerSecond, after.p50Ms, after.p99Ms, 0, after.imagesPerSecond / baseline],
      ],
    );
    console.log(`ratio (system / raw sharp) = ${(system.imagesPerSecond / baseline).toFixed(2)}  (target ≥ 0.9)`);
    const cpu = [...(system.cpu ?? new Map<string, number>())].sort((a, b) => b[1] - a[1]);
    const total = cpu.reduce((sum, [, seconds]) => sum + seconds, 0);
    printTable(
      `Where the CPU went during the whole-system run (${cores} cores × ${(urls.length / system.imagesPerSecond).toFixed(1)} s = ${((cores * urls.length) / system.imagesPerSecond).toFixed(1)} core-seconds available)`,
      ['process role', 'CPU s', 'share', 'CPU ms per image'],
      [
        ...cpu.map(([role, seconds]): Array<string | number> => [role, seconds, `${Math.round((100 * seconds) / total)}%`, (1000 * seconds) / urls.length]),
        ['idle (cores waiting)', (cores * urls.length) / system.imagesPerSecond - total, '', (1000 * ((cores * urls.length) / system.imagesPerSecond - total)) / urls.length],
      ],
    );
  } finally {
    await origin.close();
  }
}

runBenchmark(main);
