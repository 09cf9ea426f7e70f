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

/** A server's measured pass, and the unmeasured warm-up pass it ran first (other originals, same size). */
export type ServerMissPath = MissPathMeasurement & { warmUp: MissPathMeasurement };

/**
 * The miss-path originals: `urls` are measured; `warmUpUrls` are as many other originals (the same
 * photos under other URLs) that a fresh server renders first, unmeasured: V8 has not yet optimized
 * the hot paths of a server in its first few hundred requests, and has those of one that has served
 * for days. Both servers get the same warm-up, and the measured pass still renders variants of
 * originals that have none yet.
 */
export interface MissPathImages {
  urls: string[];
  warmUpUrls: string[];
}

/** The originals of the miss-path runs: every bench photo under `copies` distinct URLs, and as many again for warming up. */
export async function photoOrigin(copies: number): Promise<MissPathImages & { origin: OriginServer; photos: Buffer[] }> {
  const origin = await startOriginServer();
  const photos = benchPhotos();
  photos.forEach((photo, i) => origin.serveBytes(`p${i}.jpg`, photo.bytes, 'image/jpeg'));
  const urls: string[] = [];
  const warmUpUrls: string[] = [];
  const bytes: Buffer[] = [];
  for (let copy = 0; copy < copies; copy++) {
    photos.forEach((photo, i) => {
      urls.push(origin.url(`/bytes/p${i}.jpg?copy=${copy}`));
      warmUpUrls.push(origin.url(`/bytes/p${i}.jpg?warm-up=${copy}`));
      bytes.push(photo.bytes);
    });
  }
  return { origin, urls, warmUpUrls, photos: bytes };
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
export async function directServerMissPath(images: MissPathImages, options: { processes: number; clients: number }): Promise<ServerMissPath> {
  const direct = await startDirectServer(options.processes);
  try {
    const variantsOf = (urls: string[]) => urls.map((url) => direct.variantUrl(url, 200, 200));
    const warmUp = summarize((await runLoad(variantsOf(images.warmUpUrls), options.clients)).get('all'));
    const { result, cpu } = await cpuByRole(() => runLoad(variantsOf(images.urls), options.clients));
    return { ...summarize(result.get('all')), cpu, warmUp };
  } finally {
    await direct.stop();
  }
}

/**
 * HTTP → queue → worker → storage → response for `images.urls`, 200×200 JPEG q80, originals
 * already cached and variants not, against a fresh cluster whose workers run `jobsPerWorker` jobs
 * each, after the same pass over `images.warmUpUrls`.
 */
export async function systemMissPath(
  images: MissPathImages,
  options: { jobsPerWorker: number; clients: number; name: string; transform?: string; storage?: Record<string, unknown> },
): Promise<ServerMissPath> {
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
    const originals = [...images.warmUpUrls, ...images.urls].map((url) => `${cluster.url}/get_image?url=${encodeURIComponent(url)}&no_image=true`);
    const cached = (await runLoad(originals, 4)).get('all')!;
    if (cached.errors > 0) throw new Error(`caching originals failed: ${JSON.stringify(cached.statuses)}`);
    const transform = options.transform ?? 'resize_width=200&resize_height=200';
    const variantsOf = (urls: string[]) => urls.map((url) => `${cluster.url}/get_image?url=${encodeURIComponent(url)}&${transform}`);
    const warmUp = summarize((await runLoad(variantsOf(images.warmUpUrls), options.clients)).get('all'));
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    const { result: measured, commands } = await redisCommandsDuring(TEST_REDIS_URL, () => cpuByRole(() => runLoad(variantsOf(images.urls), options.clients)));
    const toUs = Number(process.hrtime.bigint() / 1000n);
    return { ...summarize(measured.result.get('all')), cpu: measured.cpu, redisCommands: commands, window: { fromUs, toUs }, warmUp };
  } finally {
    await cluster.stop();
  }
}
