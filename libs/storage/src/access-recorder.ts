import { utimes } from 'node:fs/promises';

/**
 * Remembers when stored objects were last read, for least-recently-used eviction, without a system
 * call on the read path (the product's hottest path: an extra async fs call there costs 40–180 µs of
 * thread-pool hand-off). A read is a Map write; every `flushEveryMs` the recorded times are written
 * as the data files' mtimes (one utimes per object read in that window, off the read path), which
 * is what the eviction scan of any process sorts by. So "last used" is precise to the flush period.
 */
export class AccessRecorder {
  private readonly lastUsed = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(flushEveryMs: number) {
    this.timer = setInterval(() => void this.flush(), flushEveryMs);
    this.timer.unref();
  }

  /** Notes that the data file at `path` was just read. */
  touch(path: string): void {
    this.lastUsed.set(path, Date.now());
  }

  /** When `path` was read last in this process since the last flush, if it was. */
  lastUsedOf(path: string): number | undefined {
    return this.lastUsed.get(path);
  }

  /** Writes the recorded times as mtimes now (a vanished file was evicted or deleted meanwhile). */
  flush(): Promise<void> {
    const batch = [...this.lastUsed];
    this.lastUsed.clear();
    this.flushing = this.flushing.then(async () => {
      for (const [path, at] of batch) {
        const seconds = at / 1000;
        // A vanished file was evicted or deleted meanwhile; a read-only disk keeps the old times.
        await utimes(path, seconds, seconds).catch(() => undefined);
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
