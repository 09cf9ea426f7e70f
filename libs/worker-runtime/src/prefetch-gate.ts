/**
 * Someone waiting beats a prefetch, for the CPU too: a prefetch costs the worker CPU (HTTP, header
 * probe, storage), so none starts in this process while sync work runs here, shortly after it
 * (clients send their next request within a few ms), or while sync renders wait in the cluster.
 */
export class PrefetchGate {
  private busy = 0;
  private lastBusyAt = 0;
  private syncWaiting = false;

  constructor(
    private readonly hold: (held: boolean) => void,
    /** How long after the last sync work prefetches stay held. */
    private readonly holdOverMs: number,
  ) {}

  /** Runs sync work (a download or render somebody waits for), holding prefetches meanwhile. */
  async during<T>(work: () => Promise<T>): Promise<T> {
    this.busy++;
    this.update();
    try {
      return await work();
    } finally {
      this.busy--;
      this.lastBusyAt = Date.now();
      this.update();
    }
  }

  /** Sync renders waiting anywhere in the cluster (polled); also re-checks the hold-over. */
  setSyncWaiting(waiting: boolean): void {
    this.syncWaiting = waiting;
    this.update();
  }

  private update(): void {
    this.hold(this.busy > 0 || this.syncWaiting || Date.now() - this.lastBusyAt < this.holdOverMs);
  }
}
