import sharp from 'sharp';
import { computePlaceholders, configureSharp, probeImage, renderVariant } from '@image-cloud/imaging';
import { printTable } from './lib/table';
import { runBenchmark } from './lib/run-benchmark';

/**
 * What the layout placeholders (dominant colour + ThumbHash, computed once per original) cost next
 * to the header probe every download already pays. Both run as in the probe child: one libvips
 * thread, the bytes in memory. Each image is made with sharp (photo-like: a gradient with noise),
 * probed and placeholdered `rounds` times; the table gives the median per original and the ratio.
 * A 400 px JPEG render of the same original is shown for scale: what one get_image miss costs.
 * Usage: npm run bench -- placeholder-cost [rounds=15]
 */

const LIMITS = { maxPixels: 50_000_000, maxFrames: 300 };

async function photoLike(width: number, height: number, format: 'jpeg' | 'png' | 'webp' | 'avif', alpha = false): Promise<Buffer> {
  const noise = await sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 30 } } })
    .blur(2)
    .toBuffer();
  let image = sharp(noise, { raw: { width, height, channels: 3 } }).linear([0.9, 0.7, 1.1], [20, 10, 0]);
  if (alpha) image = image.ensureAlpha(0.6);
  return image.toFormat(format, { quality: 85 }).toBuffer();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function timed(work: () => Promise<unknown>, rounds: number): Promise<number> {
  await work(); // warm-up: libvips loads and caches its codecs on first use
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return median(times);
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 15);
  configureSharp({ threadsPerJob: 1 });
  const cases: Array<[string, Buffer]> = [
    ['JPEG 4000x3000 (12 MP)', await photoLike(4000, 3000, 'jpeg')],
    ['JPEG 1600x1200', await photoLike(1600, 1200, 'jpeg')],
    ['PNG 1600x1200 with alpha', await photoLike(1600, 1200, 'png', true)],
    ['WebP 1600x1200', await photoLike(1600, 1200, 'webp')],
    ['AVIF 1600x1200', await photoLike(1600, 1200, 'avif')],
  ];
  const rows: Array<Array<string | number>> = [];
  for (const [name, bytes] of cases) {
    const probeMs = await timed(() => probeImage(bytes, LIMITS), rounds);
    const placeholdersMs = await timed(() => computePlaceholders(bytes, { maxPixels: LIMITS.maxPixels, timeoutMs: 5000 }), rounds);
    const probe = await probeImage(bytes, LIMITS);
    const renderMs = await timed(() => renderVariant(bytes, probe, { width: 400, fit: 'inside', format: 'jpeg' }, { limits: LIMITS, quality: 80, timeoutMs: 5000 }), rounds);
    rows.push([name, Math.round(bytes.length / 1024), probeMs, placeholdersMs, placeholdersMs / probeMs, renderMs, placeholdersMs / renderMs]);
  }
  printTable(
    `Layout placeholders vs the header probe, median of ${rounds} per original, one libvips thread`,
    ['original', 'KiB', 'header probe ms (baseline)', 'placeholders ms', 'ratio to probe', '400 px JPEG render ms', 'ratio to render'],
    rows,
  );
}

runBenchmark(main);
