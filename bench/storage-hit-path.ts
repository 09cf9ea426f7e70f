import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3ImageStorage } from '@image-cloud/s3-storage';
import { S3RVER_CREDENTIALS, startTestS3Server } from '@image-cloud/s3-storage/testing';
import { type ImageStorage, LocalDirectoryStorage } from '@image-cloud/storage';
import { ByteLruDirectory, CachedImageStorage } from '@image-cloud/storage-cache';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * The storage side of a hit: openVariant + reading the whole body, as the server does for every
 * hit, `hits` times with `concurrency` at once, for variants of a typical and a large size:
 * - local directory: the default backend (DATA_DIR), the baseline;
 * - S3 cache-tier hit: `storage.kind: "s3"` once the host has the variant (the hot path);
 * - S3 hit: the same bucket with the cache tier bypassed, i.e. every hit from S3 (here s3rver on
 *   loopback, so this is a lower bound on a real remote store's cost).
 * Reports hits/s, wall µs and this process's CPU µs per hit (s3rver's own CPU is not counted).
 * Usage: npm run bench -- storage-hit-path [hits=2000] [concurrency=8]
 */

const SIZES = [{ label: '30 KB', bytes: 30_000 }, { label: '400 KB', bytes: 400_000 }];
const DISTINCT_VARIANTS = 50;

interface Backend {
  name: string;
  storage: ImageStorage;
}

async function readAll(storage: ImageStorage, originalKey: string, variantKey: string): Promise<number> {
  const opened = await storage.openVariant(originalKey, variantKey);
  if (!opened) throw new Error('hit expected, got a miss');
  if (opened.bytes) return opened.bytes.length;
  let total = 0;
  for await (const chunk of opened.body) total += (chunk as Buffer).length;
  return total;
}

async function measure(storage: ImageStorage, keys: Array<[string, string]>, hits: number, concurrency: number) {
  let next = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < hits) {
        const [originalKey, variantKey] = keys[next++ % keys.length]!;
        await readAll(storage, originalKey, variantKey);
      }
    }),
  );
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { hitsPerSecond: (hits / wallMs) * 1000, wallUs: (wallMs * 1000) / hits, cpuUs: (used.user + used.system) / hits };
}

async function main(): Promise<void> {
  const hits = Number(process.argv[2] ?? 2000);
  const concurrency = Number(process.argv[3] ?? 8);
  const root = await mkdtemp(join(tmpdir(), 'image-cloud-hit-path-'));
  const s3 = await startTestS3Server('hit-path');
  const local = new LocalDirectoryStorage({ dataDir: join(root, 'local') });
  const direct = new S3ImageStorage({
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
    downloadDir: join(root, 'downloads'),
    downloadCacheBytes: 256 * 1024 * 1024,
  });
  const cached = new CachedImageStorage({ backend: direct, cache: ByteLruDirectory.open(join(root, 'cache'), 1024 * 1024 * 1024) });
  const backends: Backend[] = [
    { name: 'local directory (baseline)', storage: local },
    { name: 'S3 + host cache, cached hit', storage: cached },
    { name: 'S3 hit (no host cache)', storage: direct },
  ];
  try {
    const rows: Array<Array<string | number>> = [];
    for (const size of SIZES) {
      const keys: Array<[string, string]> = Array.from({ length: DISTINCT_VARIANTS }, () => [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')]);
      for (const [originalKey, variantKey] of keys) {
        const bytes = randomBytes(size.bytes);
        const meta = { contentType: 'image/webp', width: 100, height: 100, format: 'webp', frames: 1, createdAt: new Date().toISOString() };
        await local.putVariant(originalKey, variantKey, bytes, meta);
        await direct.putVariant(originalKey, variantKey, bytes, meta);
        // Warm: the cache tier holds what this host read once.
        await readAll(cached, originalKey, variantKey);
      }
      let baseline = 0;
      for (const backend of backends) {
        // A short warm-up (connections, JIT) before the measured run.
        await measure(backend.storage, keys, Math.min(200, hits), concurrency);
        const result = await measure(backend.storage, keys, hits, concurrency);
        if (backend === backends[0]) baseline = result.hitsPerSecond;
        rows.push([size.label, backend.name, result.hitsPerSecond, result.wallUs, result.cpuUs, result.hitsPerSecond / baseline]);
      }
    }
    printTable(
      `Storage hit path: openVariant + whole body, ${hits} hits, ${concurrency} at once (2-core shared VM: absolute numbers are noisy, compare ratios)`,
      ['variant', 'backend', 'hits/s', 'wall µs/hit', 'CPU µs/hit', 'vs local directory'],
      rows,
    );
  } finally {
    direct.close();
    await local.close();
    await s3.close();
    await rm(root, { recursive: true, force: true });
  }
}

runBenchmark(main);
