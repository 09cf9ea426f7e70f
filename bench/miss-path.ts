import { availableParallelism } from 'node:os';
import { isDirectServerWorker, serveDirectRequests } from './lib/direct-server';
import { type MissPathMeasurement, directServerMissPath, photoOrigin, rawSharp, systemMissPath } from './lib/miss-path-run';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * Miss-path throughput, same run (issue 3): images/s through the whole system (HTTP → queue →
 * worker → storage → response, 200×200 JPEG q80, originals cached, variants not) against two
 * baselines doing the same resizes on the same cores: a plain in-process sharp loop, and an
 * imgproxy-style direct server (one process per core, fetch + render per request, no queue, no
 * storage; lib/direct-server.ts). Each baseline is measured before and after the system and
 * averaged. Each server (the system, the direct server) is fresh and first renders as many other
 * originals, unmeasured (lib/miss-path-run.ts says why); that warm-up pass is printed too.
 * Target: whole system ≥ 0.9 × direct server. Usage: npm run bench -- miss-path [copies=5]
 */
async function main(): Promise<void> {
  const copies = Number(process.argv[2] ?? 5);
  const cores = availableParallelism();
  const clients = cores * 4;
  const { origin, photos, ...images } = await photoOrigin(copies);
  const { urls } = images;
  try {
    const before = await rawSharp(photos, cores);
    const directBefore = await directServerMissPath(images, { processes: cores, clients });
    const system = await systemMissPath(images, { jobsPerWorker: 1, clients, name: 'miss-path' });
    const directAfter = await directServerMissPath(images, { processes: cores, clients });
    const after = await rawSharp(photos, cores);
    const baseline = (before.imagesPerSecond + after.imagesPerSecond) / 2;
    const direct = (directBefore.imagesPerSecond + directAfter.imagesPerSecond) / 2;
    const row = (run: string, m: MissPathMeasurement) => [run, m.imagesPerSecond, m.p50Ms, m.p99Ms, m.errors, m.imagesPerSecond / baseline, m.imagesPerSecond / direct];
    const directWarmUp = (directBefore.warmUp.imagesPerSecond + directAfter.warmUp.imagesPerSecond) / 2;
    printTable(
      `Warm-up passes (unmeasured): ${urls.length} other originals, each server's first requests after it started; the last column compares the two fresh servers`,
      ['run', 'images/s', 'p50 ms', 'p99 ms', 'errors', 'ratio vs direct server warm-up (mean)'],
      [
        [`direct server, ${cores} processes (before)`, ...warmUpRow(directBefore.warmUp, directWarmUp)],
        ['whole system, 1 job per core', ...warmUpRow(system.warmUp, directWarmUp)],
        [`direct server, ${cores} processes (after)`, ...warmUpRow(directAfter.warmUp, directWarmUp)],
      ],
    );
    printTable(
      `Miss path, ${urls.length} images (${copies} × 20 bench photos), ${cores} cores, ${clients} clients for the servers, each server after its warm-up pass; baselines = mean of their runs before and after`,
      ['run', 'images/s', 'p50 ms', 'p99 ms', 'errors', 'ratio vs raw sharp', 'ratio vs direct server'],
      [
        row('raw sharp, in-process (before)', before),
        row(`direct server, ${cores} processes (before)`, directBefore),
        row('whole system, 1 job per core', system),
        row(`direct server, ${cores} processes (after)`, directAfter),
        row('raw sharp, in-process (after)', after),
      ],
    );
    console.log(`ratio (system / raw sharp) = ${(system.imagesPerSecond / baseline).toFixed(2)}`);
    console.log(`ratio (system / direct server) = ${(system.imagesPerSecond / direct).toFixed(2)}  (target ≥ 0.9)`);
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
    // CPU per image is steadier than images/s on a shared machine: when the cores are saturated,
    // throughput is the inverse of it. The load generator (which also plays the origin) is left out.
    const serving = (m: typeof system) => [...(m.cpu ?? new Map<string, number>())].filter(([role]) => !role.startsWith('load generator')).reduce((sum, [, s]) => sum + s, 0);
    const directCpuMs = ((serving(directBefore) + serving(directAfter)) / 2 / urls.length) * 1000;
    const systemCpuMs = (serving(system) / urls.length) * 1000;
    printTable(
      'CPU per image of the serving processes (load generator and origin left out)',
      ['run', 'CPU ms per image', 'ratio (direct server / run)'],
      [
        [`direct server, ${cores} processes (mean of before and after)`, directCpuMs, 1],
        ['whole system (server, workers, render children, Redis)', systemCpuMs, directCpuMs / systemCpuMs],
      ],
    );
    const commands = [...(system.redisCommands ?? new Map<string, number>())].sort((a, b) => b[1] - a[1]);
    const calls = commands.reduce((sum, [, n]) => sum + n, 0);
    printTable(
      `Redis commands per image during the whole-system run (${(calls / urls.length).toFixed(1)} in all, commands inside Lua scripts included)`,
      ['command', 'per image'],
      commands.slice(0, 12).map(([name, n]): Array<string | number> => [name, n / urls.length]),
    );
  } finally {
    await origin.close();
  }
}

function warmUpRow(m: MissPathMeasurement, directImagesPerSecond: number): Array<string | number> {
  return [m.imagesPerSecond, m.p50Ms, m.p99Ms, m.errors, m.imagesPerSecond / directImagesPerSecond];
}

if (isDirectServerWorker()) serveDirectRequests();
else runBenchmark(main);
