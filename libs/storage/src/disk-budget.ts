import { closeSync, openSync, statSync, statfsSync, unlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { makeDirectory } from './small-io';
import { type ScannedObject, scanStore, sweepTrash } from './store-scan';

/** What one enforcement run did, for the log. */
export interface BudgetRun {
  budgetBytes: number;
  bytesBefore: number;
  bytesAfter: number;
  /** Directory entries the scan looked at, and how long it took (wall clock, yields included). */
  entries: number;
  scanMs: number;
  evictedVariants: number;
  evictedOriginals: number;
  staleTempFilesRemoved: number;
  trashRemoved: number;
}

export interface DiskBudgetOptions {
  dataDir: string;
  /** The budget in bytes; when absent, `maxFraction` of what the store uses plus what its filesystem has free, measured at start. */
  maxBytes?: number;
  maxFraction: number;
  /** How often the store is checked (by one process of all those sharing `dataDir`). */
  checkEveryMs: number;
  /** Removes an original with all its variants (ImageStorage.deleteImage: one rename, readers keep open files). */
  removeOriginal: (originalKey: string) => Promise<unknown>;
  /**
   * Hears, once per original, that some of its variants were unlinked: other processes may hold
   * them in memory and must hear it (removeOriginal tells them itself). @defaultValue nobody
   */
  onVariantsEvicted?: (originalKey: string) => Promise<unknown>;
}

/** The store is brought down to this share of the budget, so a store at its budget does not evict on every check. */
const LOW_WATER = 0.9;
/** Objects written (or recorded as read) this recently are never evicted: a waiting request is about to read them. */
const PROTECTED_MS = 60_000;
/** A lock not refreshed for this long belongs to a process that died mid-run. */
const LOCK_STALE_MS = 5 * 60_000;
/** Evictions (two unlinks each) between yields to the event loop. */
const EVICTIONS_PER_SLICE = 50;
/** Forced runs (after ENOSPC) come at most this often. */
const FORCED_RUN_GAP_MS = 10_000;
const LOCK_FILE = '.disk-budget.lock';
/** Its mtime says when the last run (by any process) finished. */
const STAMP_FILE = '.disk-budget.stamp';

/** `fraction` of what the store uses plus what its filesystem has free. */
export function defaultBudgetBytes(usedBytes: number, freeBytes: number, fraction: number): number {
  return Math.floor(fraction * (usedBytes + freeBytes));
}

/**
 * Keeps a LocalDirectoryStorage's `dataDir` under a size budget: least recently used variants go
 * first (a render away from coming back), then least recently used originals (a download away).
 * Several processes share one `dataDir` (one server, several workers, containers on one volume),
 * so a run takes a lock file there (`openSync(…, 'wx')`, atomic on a shared volume too) and skips
 * when another process ran within the check period. Removal is unlink and rename: a reader
 * holding an open file keeps its bytes.
 */
export class DiskBudget {
  private readonly imagesDir: string;
  private readonly lockPath: string;
  private readonly stampPath: string;
  private readonly freeBytesAtStart: number;
  private budgetBytes: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<BudgetRun | null> | null = null;
  private lastForcedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: DiskBudgetOptions) {
    this.imagesDir = join(options.dataDir, 'images');
    this.lockPath = join(options.dataDir, LOCK_FILE);
    this.stampPath = join(options.dataDir, STAMP_FILE);
    makeDirectory(options.dataDir);
    const fs = statfsSync(options.dataDir);
    this.freeBytesAtStart = fs.bavail * fs.bsize;
    this.budgetBytes = options.maxBytes;
  }

  /** The budget in force; known once the first run measured the store (or given). */
  get budget(): number | undefined {
    return this.budgetBytes;
  }

  /** Checks every `checkEveryMs`, the first time now (which also sweeps what crashes left behind). */
  start(onRun: (run: BudgetRun) => void, onError: (error: Error) => void): void {
    const tick = (force: boolean) =>
      this.enforce(force).then((run) => run && onRun(run), onError);
    void tick(true);
    this.timer = setInterval(() => void tick(false), this.options.checkEveryMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * One run: scan, sweep stale temp files and trash, evict down to the low-water mark. Null when
   * another process holds the lock or (unless `force`, e.g. after ENOSPC) ran within the period.
   */
  enforce(force = false): Promise<BudgetRun | null> {
    this.running ??= this.runLocked(force).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /**
   * After a write failed for want of space: a run now, whatever the period. Every miss fails while
   * the disk is full, so this forces at most one run per FORCED_RUN_GAP_MS.
   */
  relieve(): Promise<BudgetRun | null> {
    const force = Date.now() - this.lastForcedAt >= FORCED_RUN_GAP_MS;
    if (force) this.lastForcedAt = Date.now();
    return this.enforce(force);
  }

  private async runLocked(force: boolean): Promise<BudgetRun | null> {
    if (!force && this.ranRecently()) return null;
    if (!this.tryLock()) return null;
    try {
      return await this.run();
    } finally {
      try {
        closeSync(openSync(this.stampPath, 'w'));
        utimesSync(this.stampPath, new Date(), new Date());
      } catch {
        // a read-only store: the next run simply comes sooner
      }
      this.unlock();
    }
  }

  private async run(): Promise<BudgetRun> {
    const started = Date.now();
    const trashRemoved = sweepTrash(join(this.options.dataDir, 'trash'), started);
    const scan = await scanStore(this.imagesDir, { now: started, onSlice: () => this.refreshLock() });
    const scanMs = Date.now() - started;
    this.budgetBytes ??= defaultBudgetBytes(scan.totalBytes, this.freeBytesAtStart, this.options.maxFraction);
    const target = Math.floor(this.budgetBytes * LOW_WATER);
    let bytes = scan.totalBytes;
    let evictedVariants = 0;
    let evictedOriginals = 0;
    if (bytes > this.budgetBytes) {
      const now = Date.now();
      // What each original still has in variants after the variants' turn.
      const variantBytes = new Map<string, number>();
      for (const variant of scan.variants) variantBytes.set(variant.originalKey, (variantBytes.get(variant.originalKey) ?? 0) + variant.bytes);
      const evictedOf = new Set<string>();
      for (const variant of leastRecentlyUsed(scan.variants, now)) {
        if (bytes <= target) break;
        if (evictVariant(variant)) {
          evictedOf.add(variant.originalKey);
          if (++evictedVariants % EVICTIONS_PER_SLICE === 0) await yieldToEventLoop();
        }
        bytes -= variant.bytes;
        variantBytes.set(variant.originalKey, variantBytes.get(variant.originalKey)! - variant.bytes);
      }
      for (const originalKey of evictedOf) await this.options.onVariantsEvicted?.(originalKey);
      for (const original of leastRecentlyUsed(scan.originals, now)) {
        if (bytes <= target) break;
        // Its variants left are in use (protected): removing the original would take them along.
        if ((variantBytes.get(original.originalKey) ?? 0) > 0) continue;
        if ((await this.options.removeOriginal(original.originalKey)) !== 0) evictedOriginals++;
        bytes -= original.bytes;
      }
    }
    return {
      budgetBytes: this.budgetBytes,
      bytesBefore: scan.totalBytes,
      bytesAfter: Math.max(0, bytes),
      entries: scan.entries,
      scanMs,
      evictedVariants,
      evictedOriginals,
      staleTempFilesRemoved: scan.staleTempFilesRemoved,
      trashRemoved,
    };
  }

  private ranRecently(): boolean {
    const stamp = statSync(this.stampPath, { throwIfNoEntry: false });
    return stamp !== undefined && Date.now() - stamp.mtimeMs < this.options.checkEveryMs * 0.9;
  }

  private tryLock(): boolean {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        // Empty: creating it needs no free block, so a full disk can still be relieved.
        closeSync(openSync(this.lockPath, 'wx'));
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const lock = statSync(this.lockPath, { throwIfNoEntry: false });
        if (lock && Date.now() - lock.mtimeMs < LOCK_STALE_MS) return false;
        // Its holder died mid-run: take it over.
        try {
          unlinkSync(this.lockPath);
        } catch {
          // another process took it over first; the retry finds its lock
        }
      }
    }
    return false;
  }

  private refreshLock(): void {
    try {
      utimesSync(this.lockPath, new Date(), new Date());
    } catch {
      // gone: the run goes on; the worst case is two runs evicting at once, which is safe, only wasteful
    }
  }

  private unlock(): void {
    try {
      unlinkSync(this.lockPath);
    } catch {
      // already taken over as stale
    }
  }
}

/** Objects oldest use first, leaving out those written or used within the protected time. */
function leastRecentlyUsed(objects: ScannedObject[], now: number): ScannedObject[] {
  return objects.filter((object) => now - object.lastUsedMs >= PROTECTED_MS).sort((a, b) => a.lastUsedMs - b.lastUsedMs);
}

/**
 * Meta first: a present meta means a complete object, so readers see the variant vanish at once.
 * A reader that opened the data file already keeps its bytes.
 */
export function evictVariant(variant: Pick<ScannedObject, 'jsonPath' | 'binPath'>): boolean {
  let removed = false;
  for (const path of [variant.jsonPath, variant.binPath]) {
    try {
      unlinkSync(path);
      removed = true;
    } catch {
      // evicted or deleted by someone else meanwhile
    }
  }
  return removed;
}
