import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DiskBudget, LocalDirectoryStorage, scanStore } from '@image-cloud/storage';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * Cost of the disk budget's scan (how one worker finds what to evict): a store of `files` files
 * (originals with four variants each, data and meta), scanned three times with the page cache warm,
 * then one run that evicts a tenth of it. Reports wall time, the CPU the process spent, and the
 * longest the event loop was blocked (the scan runs synchronously in slices of 25 originals).
 * Usage: npm run bench -- disk-scan [files=50000]
 */

const VARIANTS_PER_ORIGINAL = 4;

function makeStore(imagesDir: string, files: number): number {
  const originals = Math.ceil(files / 2 / (1 + VARIANTS_PER_ORIGINAL));
  const meta = JSON.stringify({ bytes: 2048, etag: '"x"' });
  for (let i = 0; i < originals; i++) {
    const key = randomBytes(32).toString('hex');
    const dir = join(imagesDir, key.slice(0, 2), key.slice(2, 4), key);
    mkdirSync(join(dir, 'variants'), { recursive: true });
    writeFileSync(join(dir, 'original.bin'), randomBytes(2048));
    writeFileSync(join(dir, 'original.json'), meta);
    for (let v = 0; v < VARIANTS_PER_ORIGINAL; v++) {
      const variant = randomBytes(32).toString('hex');
      writeFileSync(join(dir, 'variants', `${variant}.bin`), randomBytes(512));
      writeFileSync(join(dir, 'variants', `${variant}.json`), meta);
    }
  }
  return originals * (1 + VARIANTS_PER_ORIGINAL) * 2;
}

async function measure<T>(work: () => Promise<T>): Promise<{ result: T; wallMs: number; cpuMs: number; maxBlockMs: number }> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await work();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  loop.disable();
  return { result, wallMs, cpuMs: (used.user + used.system) / 1000, maxBlockMs: loop.max / 1e6 };
}

async function main(): Promise<void> {
  const files = Number(process.argv[2] ?? 50_000);
  const dataDir = await mkdtemp(join(tmpdir(), 'image-cloud-disk-scan-'));
  try {
    const made = makeStore(join(dataDir, 'images'), files);
    const rows: Array<Array<string | number>> = [];
    for (let run = 1; run <= 3; run++) {
      const { result, wallMs, cpuMs, maxBlockMs } = await measure(() => scanStore(join(dataDir, 'images')));
      rows.push([`scan ${run}`, made, result.originals.length + result.variants.length, wallMs, cpuMs, maxBlockMs, 0]);
    }
    const storage = new LocalDirectoryStorage({ dataDir });
    const total = (await scanStore(join(dataDir, 'images'))).totalBytes;
    // Everything was just written, so it is protected for a minute: evict as the store will look later.
    const realNow = Date.now;
    Date.now = () => realNow() + 120_000;
    const budget = new DiskBudget({ dataDir, maxBytes: total - 1, maxFraction: 0.8, checkEveryMs: 60_000, removeOriginal: (key) => storage.deleteImage(key) });
    const evict = await measure(() => budget.enforce(true));
    Date.now = realNow;
    rows.push(['scan + evict to 90%', made, evict.result!.evictedVariants + evict.result!.evictedOriginals, evict.wallMs, evict.cpuMs, evict.maxBlockMs, evict.result!.evictedVariants]);
    await storage.close();
    printTable(`Disk budget scan of ${made} files (${made / 2} objects)`, ['run', 'files', 'objects seen / evicted', 'wall ms', 'CPU ms', 'longest event-loop block ms', 'variants evicted'], rows);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBenchmark(main);
