import { type Stats, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { isNotFound } from './fs-errors';
import { TEMP_PREFIX } from './temp-file';

/** One stored object as the eviction scan sees it. */
export interface ScannedObject {
  originalKey: string;
  /** Null for the original itself. */
  variantKey: string | null;
  binPath: string;
  jsonPath: string;
  /** Disk use of data and meta. */
  bytes: number;
  /** The data file's mtime: its write, or its last read as the access recorder wrote it. */
  lastUsedMs: number;
}

export interface StoreScan {
  originals: ScannedObject[];
  variants: ScannedObject[];
  totalBytes: number;
  /** Directory entries looked at. */
  entries: number;
  staleTempFilesRemoved: number;
}

/** A meta file takes one filesystem block whatever its length. */
const META_BYTES = 4096;
/** A temp file this old belongs to a writer that died: a write takes seconds at most. */
export const STALE_TEMP_MS = 10 * 60_000;
/** The scan blocks the event loop for at most this many original directories at a time. */
const DIRECTORIES_PER_SLICE = 25;

/** Bytes a file occupies on disk (allocated blocks), which is what fills it. */
function diskBytes(stats: Stats): number {
  return stats.blocks * 512 || stats.size;
}

function listOrEmpty(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

function removeIfStale(path: string, now: number): boolean {
  const stats = statSync(path, { throwIfNoEntry: false });
  if (!stats || now - stats.mtimeMs < STALE_TEMP_MS) return false;
  try {
    unlinkSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Walks `images/` (layout of LocalDirectoryStorage) and lists every object with its size and last
 * use, removing temp files left behind by writers that crashed. Synchronous calls (5–10 µs each
 * against 40 µs and more through the thread pool) in slices, yielding to the event loop between
 * them so the process keeps serving while it scans.
 */
export async function scanStore(imagesDir: string, options: { now?: number; onSlice?: () => void } = {}): Promise<StoreScan> {
  const now = options.now ?? Date.now();
  const scan: StoreScan = { originals: [], variants: [], totalBytes: 0, entries: 0, staleTempFilesRemoved: 0 };
  let directories = 0;
  for (const first of listOrEmpty(imagesDir)) {
    if (first.startsWith(TEMP_PREFIX)) {
      if (removeIfStale(join(imagesDir, first), now)) scan.staleTempFilesRemoved++;
      continue;
    }
    for (const second of listOrEmpty(join(imagesDir, first))) {
      for (const originalKey of listOrEmpty(join(imagesDir, first, second))) {
        scanOriginal(join(imagesDir, first, second, originalKey), originalKey, now, scan);
        if (++directories % DIRECTORIES_PER_SLICE === 0) {
          options.onSlice?.();
          await yieldToEventLoop();
        }
      }
    }
  }
  return scan;
}

function scanOriginal(dir: string, originalKey: string, now: number, scan: StoreScan): void {
  const entries = listOrEmpty(dir);
  scan.entries += entries.length;
  for (const name of entries) {
    if (name.startsWith(TEMP_PREFIX) && removeIfStale(join(dir, name), now)) scan.staleTempFilesRemoved++;
  }
  if (entries.includes('original.bin')) {
    const object = scanObject(dir, originalKey, null, 'original', entries.includes('original.json'));
    if (object) {
      scan.originals.push(object);
      scan.totalBytes += object.bytes;
    }
  }
  if (!entries.includes('variants')) return;
  const variantsDir = join(dir, 'variants');
  const names = listOrEmpty(variantsDir);
  scan.entries += names.length;
  const metas = new Set(names.filter((name) => name.endsWith('.json')));
  for (const name of names) {
    if (name.startsWith(TEMP_PREFIX)) {
      if (removeIfStale(join(variantsDir, name), now)) scan.staleTempFilesRemoved++;
    } else if (name.endsWith('.bin')) {
      const variantKey = name.slice(0, -'.bin'.length);
      const object = scanObject(variantsDir, originalKey, variantKey, variantKey, metas.has(`${variantKey}.json`));
      if (object) {
        scan.variants.push(object);
        scan.totalBytes += object.bytes;
      }
    }
  }
}

function scanObject(dir: string, originalKey: string, variantKey: string | null, base: string, hasMeta: boolean): ScannedObject | null {
  const binPath = join(dir, `${base}.bin`);
  const stats = statSync(binPath, { throwIfNoEntry: false });
  if (!stats) return null;
  return {
    originalKey,
    variantKey,
    binPath,
    jsonPath: join(dir, `${base}.json`),
    bytes: diskBytes(stats) + (hasMeta ? META_BYTES : 0),
    lastUsedMs: stats.mtimeMs,
  };
}

/** Removes what `trash/` holds: deletes that a crash interrupted. Entries moved there in the last minute may still be counted by their deleter. */
export function sweepTrash(trashDir: string, now = Date.now()): number {
  let removed = 0;
  for (const name of listOrEmpty(trashDir)) {
    const path = join(trashDir, name);
    // rename() sets the moved directory's ctime: that is when it was deleted.
    const stats = statSync(path, { throwIfNoEntry: false });
    if (!stats || now - stats.ctimeMs < 60_000) continue;
    rmSync(path, { recursive: true, force: true });
    removed++;
  }
  return removed;
}
