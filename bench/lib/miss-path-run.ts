import sharp from 'sharp';
import { type OriginServer, TEST_REDIS_URL, startOriginServer } from '@image-cloud/testing';
import { startCluster } from './cluster';
import { redisCommandsDuring } from './redis-commands';
import { cpuByRole } from './cpu-accounting';
import { startDirectServer } from './direct-server';
import { type LoadResult, percentile, runLoad } from './load';
import { benchPhotos } from './photos';

export interface MissPathMeasurement {
  imagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU seconds per process role during the measured phase. */
  cpu?: Map<string, number>;
  /** Redis commands by name during the measured phase (commands run inside scripts included). */
  redisCommands?: Map<string, number>;
  /** The measured phase, process.hrtime µs (the monotonic clock every process shares). */
  window?: { fromUs: number; toUs: number };
}

/** The originals of the miss-path runs: every bench photo under `copies` distinct URLs. */
export async function photoOrigin(copies: number): Promise<{ origin: OriginServer; urls: string[]; photos: Buffer[] }> {
  const origin = await startOriginServer();
  const photos = benchPhotos();
  photos.forEach((photo, i) => origin.serveBytes(`p${i}.jpg`, photo.bytes, 'image/jpeg'));
  const urls: string[] = [];
  const bytes: Buffer[] = [];
  for (let copy = 0; copy < copies; copy++) {
    photos.forEach((photo, i) => {
      urls.push(origin.url(`/bytes/p${i}.jpg?copy=${copy}`));
      bytes.push(photo.bytes);
    });
  }
  return { origin, urls, photos: bytes };
}

/** Plain sharp in this process, `parallel` resizes at a time (one per core): the baseline. */
export async function rawSharp(photos: Buffer[], parallel: number): Promise<MissPathMeasurement> {
  sharp.cache(false);
  sharp.concurrency(1);
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (;;) {
        const index = next++;
        if (index >= photos.length) return;
        const t0 = performance.now();
        await sharp(photos[index], { autoOrient: true, failOn: 'error' })
          .resize(200, 200, { fit: 'inside', withoutEnlargement: true })
          .jpeg({ quality: 80 })
          .toBuffer();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { imagesPerSecond: photos.length / seconds, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), errors: 0 };
}

function summarize(result: LoadResult | undefined): MissPathMeasurement {
  if (!result) throw new Error('no requests were measured');
  return { imagesPerSecond: result.perSecond, p50Ms: percentile(result.latenciesMs, 50), p99Ms: percentile(result.latenciesMs, 99), errors: result.errors };
}

/**
 * The same 200×200 JPEG misses through an imgproxy-style direct server (lib/direct-server.ts): one
 * process per core, origin fetched on every request (the system's originals are cached), rendered
 * in-process, no queue, no storage.
 */
export async function directServerMissPath(urls: string[], options: { processes: number; clients: number }): Promise<MissPathMeasurement> {
  const direct = await startDirectServer(options.processes);
  try {
    const variants = urls.map((url) => direct.variantUrl(url, 200, 200));
    // Unmeasured warm-up (code loaded, JIT), as the whole system warms while caching the originals.
    await runLoad(variants.slice(0, options.processes * 4), options.clients);
    const { result, cpu } = await cpuByRole(() => runLoad(variants, options.clients));
    return { ...summarize(result.get('all')), cpu };
  } finally {
    await direct.stop();
  }
}

/**
 * HTTP → queue → worker → storage → response for `urls`, 200×200 JPEG q80, originals already
 * cached and variants not, against a fresh cluster whose workers run `jobsPerWorker` jobs each.
 */
export async function systemMissPath(
  urls: string[],
  options: { jobsPerWorker: number; clients: number; name: string; transform?: string; storage?: Record<string, unknown> },
): Promise<MissPathMeasurement> {
  const cluster = await startCluster({
    name: options.name,
    config: {
      allowPrivateOrigins: ['127.0.0.0/8'],
      worker: { concurrency: options.jobsPerWorker },
      server: { overloadWaitMs: 600_000 },
      ...(options.storage ? { storage: options.storage } : {}),
    },
  });
  try {
    const originals = urls.map((url) => `${cluster.url}/get_image?url=${encodeURIComponent(url)}&no_image=true`);
    const warm = (await runLoad(originals, 4)).get('all')!;
    if (warm.errors > 0) throw new Error(`warming originals failed: ${JSON.stringify(warm.statuses)}`);
    const transform = options.transform ?? 'resize_width=200&resize_height=200';
    const variants = urls.map((url) => `${cluster.url}/get_image?url=${encodeURIComponent(url)}&${transform}`);
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const { result: measured, commands } = await redisCommandsDuring(TEST_REDIS_URL, () => cpuByRole(() => runLoad(variants, options.clients)));
    const toUs = Number(process.hrtime.bigint() / 1000n);
    return { ...summarize(measured.result.get('all')), cpu: measured.cpu, redisCommands: commands, window: { fromUs, toUs } };
  } finally {
    await cluster.stop();
  }
}
