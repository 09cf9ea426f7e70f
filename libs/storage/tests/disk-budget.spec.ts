import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskBudget, LocalDirectoryStorage, defaultBudgetBytes, scanStore } from '@image-cloud/storage';
import { readAll, sampleOriginalMeta, sampleVariantMeta, testKey } from '@image-cloud/storage/testing';

/** DATA_DIR's budget on a real directory: LRU variants first, then originals; the variant cap; the start-up sweep; one process at a time. */

const PAGE = 4096;
const HOUR_AGO = Date.now() / 1000 - 3600;
let dataDir: string;
let storage: LocalDirectoryStorage;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'image-cloud-disk-budget-'));
  storage = new LocalDirectoryStorage({ dataDir });
});

afterEach(async () => {
  await storage.close();
  await rm(dataDir, { recursive: true, force: true });
});

function objectDir(originalKey: string): string {
  return join(dataDir, 'images', originalKey.slice(0, 2), originalKey.slice(2, 4), originalKey);
}

/** Sets an object's last use (its data file's mtime) `secondsAgo` back, as if written or read then. */
async function age(binPath: string, secondsAgo: number): Promise<void> {
  const at = Date.now() / 1000 - secondsAgo;
  await utimes(binPath, at, at);
}

function budget(maxBytes: number): DiskBudget {
  return new DiskBudget({ dataDir, maxBytes, maxFraction: 0.8, checkEveryMs: 60_000, removeOriginal: (key) => storage.deleteImage(key) });
}

/** Four originals (24 pages each) with two variants (11 pages each), all last used an hour ago or earlier, oldest first. */
async function fillStore(): Promise<{ originals: string[]; variants: Array<[string, string]> }> {
  const originals = [0, 1, 2, 3].map((i) => testKey(`original ${i}`));
  const variants: Array<[string, string]> = [];
  for (const [i, original] of originals.entries()) {
    await storage.putOriginal(original, randomBytes(24 * PAGE), sampleOriginalMeta());
    await age(join(objectDir(original), 'original.bin'), 7200 - i * 10);
    for (const v of [0, 1]) {
      const variant = testKey(`variant ${i} ${v}`);
      await storage.putVariant(original, variant, randomBytes(11 * PAGE), sampleVariantMeta());
      await age(join(objectDir(original), 'variants', `${variant}.bin`), 7000 - i * 10 - v);
      variants.push([original, variant]);
    }
  }
  return { originals, variants };
}

it('evicts the least recently used variants first, then originals, down to 90% of the budget, and reads record their use without a write on the read path', async () => {
  const { originals, variants } = await fillStore();
  const total = (await scanStore(join(dataDir, 'images'))).totalBytes;
  expect(total).toBe(4 * 25 * PAGE + 8 * 12 * PAGE);

  // Read the oldest variant: in memory only until the flush, then it is the most recently used.
  const [readOriginal, readVariant] = variants[0]!;
  const readBin = join(objectDir(readOriginal), 'variants', `${readVariant}.bin`);
  const mtimeBefore = (await stat(readBin)).mtimeMs;
  const opened = await storage.openVariant(readOriginal, readVariant);
  opened!.body.destroy();
  expect((await stat(readBin)).mtimeMs).toBe(mtimeBefore);
  await storage.flushAccesses();
  expect((await stat(readBin)).mtimeMs).toBeGreaterThan(mtimeBefore);
  await age(readBin, 3600);

  // Over by less than all variants: only variants go, oldest use first, the read one last.
  const run = await budget(total - 5 * 12 * PAGE).enforce(true);
  expect(run).toMatchObject({ bytesBefore: total, evictedOriginals: 0 });
  expect(run!.bytesAfter).toBeLessThanOrEqual(0.9 * (total - 5 * 12 * PAGE));
  const left = await Promise.all(variants.map(async ([o, v]) => (await storage.getVariantMeta(o, v)) !== null));
  expect(left.filter(Boolean).length).toBe(8 - run!.evictedVariants);
  expect(left[0]).toBe(true); // read most recently
  expect(left.slice(1, 1 + run!.evictedVariants)).toEqual(Array(run!.evictedVariants).fill(false));
  for (const original of originals) expect(await storage.getOriginalMeta(original)).not.toBeNull();

  // Over by more than all variants: every variant, then the least recently used originals.
  const small = await budget(60 * PAGE).enforce(true); // two originals fit under 90% of it, three do not
  expect(small!.evictedOriginals).toBe(2);
  expect(await storage.getOriginalMeta(originals[0]!)).toBeNull();
  expect(await storage.getOriginalMeta(originals[1]!)).toBeNull();
  expect(await storage.getOriginalMeta(originals[2]!)).not.toBeNull();
  expect(await storage.getOriginalMeta(originals[3]!)).not.toBeNull();
  expect((await scanStore(join(dataDir, 'images'))).variants).toEqual([]);
});

it('never evicts what was written within the last minute, and a reader holding an open stream keeps its bytes', async () => {
  const key = testKey('streamed');
  const bytes = randomBytes(300 * 1024);
  await storage.putOriginal(key, bytes, sampleOriginalMeta());
  expect((await budget(PAGE).enforce(true))!.evictedOriginals).toBe(0);

  await age(join(objectDir(key), 'original.bin'), 3600);
  const reading = await storage.openOriginal(key);
  expect(reading!.bytes).toBeUndefined(); // a stream on an open descriptor
  expect((await budget(PAGE).enforce(true))!.evictedOriginals).toBe(1);
  expect(await storage.openOriginal(key)).toBeNull();
  expect((await readAll(reading!.body)).equals(bytes)).toBe(true);
});

it("keeps at most maxVariantsPerOriginal variants, evicting that original's least recently used one", async () => {
  const capped = new LocalDirectoryStorage({ dataDir, maxVariantsPerOriginal: 3 });
  const original = testKey('capped');
  await capped.putOriginal(original, randomBytes(100), sampleOriginalMeta());
  const keys = [0, 1, 2].map((i) => testKey(`capped variant ${i}`));
  for (const [i, variant] of keys.entries()) {
    await capped.putVariant(original, variant, randomBytes(100), sampleVariantMeta());
    await age(join(objectDir(original), 'variants', `${variant}.bin`), 600 - i);
  }
  // Variant 0 is the oldest written but read since; variant 1 is then the least recently used.
  (await capped.openVariant(original, keys[0]!))!.body.destroy();
  const fourth = testKey('capped variant 3');
  await capped.putVariant(original, fourth, randomBytes(100), sampleVariantMeta());

  expect(await capped.getVariantMeta(original, keys[1]!)).toBeNull();
  for (const kept of [keys[0]!, keys[2]!, fourth]) expect(await capped.getVariantMeta(original, kept)).not.toBeNull();
  await capped.close();
});

it("sweeps temp files and trash that crashed writers left behind, and leaves a live writer's fresh temp file alone", async () => {
  const key = testKey('sweep');
  await storage.putOriginal(key, randomBytes(100), sampleOriginalMeta());
  const stale = join(objectDir(key), '.tmp-0123456789abcdef');
  const fresh = join(objectDir(key), '.tmp-fedcba9876543210');
  writeFileSync(stale, randomBytes(1000));
  writeFileSync(fresh, randomBytes(1000));
  await utimes(stale, HOUR_AGO, HOUR_AGO);
  const trashed = join(dataDir, 'trash', `${testKey('deleted')}-0011223344556677`);
  mkdirSync(join(trashed, 'variants'), { recursive: true });
  writeFileSync(join(trashed, 'original.bin'), randomBytes(1000));

  // A deleter moved it there just now: it may still be counting it.
  expect((await budget(1e12).enforce(true))!.trashRemoved).toBe(0);

  const later = new DiskBudget({ dataDir, maxBytes: 1e12, maxFraction: 0.8, checkEveryMs: 60_000, removeOriginal: async () => 0 });
  const realNow = Date.now;
  Date.now = () => realNow() + 120_000;
  try {
    const run = await later.enforce(true);
    expect(run).toMatchObject({ trashRemoved: 1, evictedOriginals: 0, evictedVariants: 0 });
  } finally {
    Date.now = realNow;
  }
  expect(await readdir(join(dataDir, 'trash'))).toEqual([]);
  expect((await readdir(objectDir(key))).sort()).toEqual(['.tmp-fedcba9876543210', 'original.bin', 'original.json']);
  expect(await storage.getOriginalMeta(key)).not.toBeNull();
});

it('runs in one process at a time, and once per period across processes unless forced', async () => {
  const first = budget(1e12);
  const second = budget(1e12);
  writeFileSync(join(dataDir, '.disk-budget.lock'), 'another process\n');
  expect(await second.enforce(true)).toBeNull();
  await rm(join(dataDir, '.disk-budget.lock'));

  expect(await first.enforce(true)).not.toBeNull();
  expect(await second.enforce()).toBeNull(); // the first ran within the period
  expect(await second.enforce(true)).not.toBeNull();
});

it('runs at once after a write failed for want of space, but at most once per 10 s', async () => {
  const relieving = budget(1e12);
  expect(await relieving.enforce()).not.toBeNull();
  expect(await relieving.relieve()).not.toBeNull();
  expect(await relieving.relieve()).toBeNull();
});

it('defaults the budget to a share of what the store uses plus what its filesystem has free', async () => {
  expect(defaultBudgetBytes(2e9, 8e9, 0.8)).toBe(8e9);
  await storage.putOriginal(testKey('default'), randomBytes(10 * PAGE), sampleOriginalMeta());
  const measured = new DiskBudget({ dataDir, maxFraction: 0.5, checkEveryMs: 60_000, removeOriginal: async () => 0 });
  const run = await measured.enforce(true);
  expect(run!.budgetBytes).toBe(measured.budget);
  expect(run!.budgetBytes).toBeGreaterThan(0.5 * run!.bytesBefore);
  expect(run!.evictedOriginals).toBe(0);
});
