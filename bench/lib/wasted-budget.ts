import { setTimeout as sleep } from 'node:timers/promises';
import { makeImage } from '@image-cloud/imaging/testing';
import { startOriginServer } from '@image-cloud/testing';
import { startCluster } from './cluster';
import { percentile } from './load';
import { printTable } from './table';
import { makeTexturedAnimation } from './textured-animation';
import { type FinishedJob, describeRun, parseFinishedJob, summarizeReroutes } from './worker-log';

/** One GET, its whole body read: status, X-Lane and milliseconds. */
async function timedGet(url: string): Promise<{ ms: number; status: number; lane: string }> {
  const t0 = performance.now();
  try {
    const response = await fetch(url);
    await response.arrayBuffer();
    return { ms: performance.now() - t0, status: response.status, lane: response.headers.get('x-lane') ?? '' };
  } catch {
    return { ms: performance.now() - t0, status: -1, lane: '' };
  }
}

/** `a a a b` → `a ×3 b`. */
function runLengths(words: string[]): string {
  const runs: Array<{ word: string; count: number }> = [];
  for (const word of words) {
    const last = runs[runs.length - 1];
    if (last?.word === word) last.count++;
    else runs.push({ word, count: 1 });
  }
  return runs.map(({ word, count }) => (count > 1 ? `${word} ×${count}` : word)).join(' ');
}

/** A GIF variant's output format and width: formats alternate, and each variant of a format is new. */
function gifVariant(i: number): { format: 'webp' | 'gif'; width: number } {
  const nth = Math.floor(i / 2);
  // WebP near full size and GIF small: both take several seconds to encode from this source.
  return i % 2 === 0 ? { format: 'webp', width: 419 - nth } : { format: 'gif', width: 100 - nth };
}

/**
 * Wasted budget: normal-lane core-seconds spent on jobs that end in the big lane. One request at a
 * time, small misses interleaved with new variants of a 420×420×100-frame animated GIF
 * (17.6 M pixel·frames, under the 25 M header threshold, so only the budget or a prediction can
 * route it). Measured from outside: the workers' "job finished" log lines (debug level).
 * Goal: at most one budget burn per output format while the cost model learns, then none.
 */
export async function wastedBudget(options: { gifVariants: number; smallPerGif: number }): Promise<void> {
  const origin = await startOriginServer();
  origin.serveBytes('small.jpg', await makeImage({ width: 800, height: 600 }), 'image/jpeg');
  origin.serveBytes('anim.gif', await makeTexturedAnimation({ width: 420, height: 420, frames: 100 }), 'image/gif');
  const jobs: FinishedJob[] = [];
  const cluster = await startCluster({
    name: 'wasted-budget',
    config: { allowPrivateOrigins: ['127.0.0.0/8'], server: { overloadWaitMs: 600_000 } },
    workerLogLevel: 'debug',
    onWorkerLine: (line) => {
      const job = parseFinishedJob(line);
      if (job) jobs.push(job);
    },
  });
  const get = (path: string, params: string) => `${cluster.url}/get_image?url=${encodeURIComponent(origin.url(path))}&${params}`;
  try {
    const warm = await timedGet(get('/bytes/anim.gif', 'no_image=true'));
    if (warm.status !== 200) throw new Error(`caching the GIF original answered ${warm.status}`);
    const smallMs: number[] = [];
    const rows: Array<Array<string | number>> = [];
    const burnsByFormat: Record<string, number> = {};
    let bigWithoutBurn = 0;
    for (let i = 0; i < options.gifVariants; i++) {
      for (let j = 0; j < options.smallPerGif; j++) smallMs.push((await timedGet(get(`/bytes/small.jpg?gif=${i}&j=${j}`, 'resize_width=200&resize_height=200'))).ms);
      const { format, width } = gifVariant(i);
      const seen = jobs.length;
      const gif = await timedGet(get('/bytes/anim.gif', `resize_width=${width}&format_when_resize=${format}`));
      await sleep(200); // the last log lines of this request
      const window = jobs.slice(seen);
      const { burns } = summarizeReroutes(window);
      burnsByFormat[format] = (burnsByFormat[format] ?? 0) + burns.length;
      if (gif.lane === 'big' && burns.length === 0) bigWithoutBurn++;
      rows.push([
        i + 1,
        `${format} ${width} px`,
        gif.status,
        gif.lane,
        gif.ms,
        burns.length,
        burns.reduce((sum, job) => sum + job.durationMs, 0),
        runLengths(window.filter((job) => job.stage !== 'fetch').map(describeRun)) || '-',
      ]);
    }
    const all = summarizeReroutes(jobs);
    const burntSeconds = all.burns.reduce((sum, job) => sum + job.durationMs, 0) / 1000;
    printTable(
      `Wasted budget: ${options.gifVariants} new variants of a 420×420×100-frame animated GIF, one request at a time, ${options.smallPerGif} small misses before each`,
      ['#', 'variant', 'status', 'X-Lane', 'latency ms', 'budget burns', 'normal-lane ms burnt', 'render runs seen in the worker log'],
      rows,
    );
    printTable(
      'Normal-lane core time spent on jobs that ended in the big lane (worker "job finished" log lines)',
      ['GIF variants', 'budget burns', 'seconds burnt', 'header/predicted reroutes', 'served by big lane without a burn', 'burns per format', 'reroute reasons seen', 'small misses', 'small p50 ms', 'small p99 ms'],
      [
        [
          options.gifVariants,
          all.burns.length,
          burntSeconds,
          all.early.length,
          bigWithoutBurn,
          JSON.stringify(burnsByFormat),
          JSON.stringify(all.reasons),
          smallMs.length,
          percentile(smallMs, 50),
          percentile(smallMs, 99),
        ],
      ],
    );
    const worst = Math.max(0, ...Object.values(burnsByFormat));
    console.log(`most budget burns of one output format = ${worst}, ${burntSeconds.toFixed(1)} normal-lane core-seconds burnt  (goal ≤ 1 per format, then none)`);
  } finally {
    await cluster.stop();
    await origin.close();
  }
}
