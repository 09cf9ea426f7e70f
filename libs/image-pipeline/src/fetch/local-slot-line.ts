import type { LaneUrgency } from '@image-cloud/contracts';
import type { OriginSlot, SlotReleases } from './fetch-ports';

interface Waiter {
  ticket: number;
  urgency: LaneUrgency;
  take(slot: OriginSlot): void;
}

/**
 * The downloads of this process waiting for a slot of a domain: sync first, then the others in
 * the order they first arrived. A download that ends hands its slot straight to the next one in
 * line (no release, no acquire, no wake-up in between), so a busy domain's slots never idle
 * between two downloads; only when nobody here waits is the slot released to the cluster.
 */
export class LocalSlotLine {
  private readonly lines = new Map<string, Waiter[]>();
  private nextTicket = 1;

  /** A place in line, kept across the waits of one download so it never loses its turn. */
  ticket(): number {
    return this.nextTicket++;
  }

  /** Downloads of `pool` with this urgency waiting here now. */
  count(pool: string, urgency: LaneUrgency): number {
    return (this.lines.get(pool) ?? []).filter((waiter) => waiter.urgency === urgency).length;
  }

  /**
   * Waits in line for a slot handed over by a download of this process; resolves to null when a
   * slot was released elsewhere (try to take it), after `timeoutMs`, or when `signal` aborts.
   */
  async wait(pool: string, urgency: LaneUrgency, ticket: number, timeoutMs: number, releases?: SlotReleases, signal?: AbortSignal): Promise<OriginSlot | null> {
    const stopWaiting = new AbortController();
    const abort = () => stopWaiting.abort();
    signal?.addEventListener('abort', abort, { once: true });
    let waiter!: Waiter;
    // Set synchronously by a hand-over, so a slot handed over as the wait times out is never lost.
    let received: OriginSlot | null = null;
    const handed = new Promise<OriginSlot>((resolve) => {
      waiter = { ticket, urgency, take: (slot) => resolve((received = slot)) };
    });
    this.enter(pool, waiter);
    try {
      // Only the head of the line listens for slots released elsewhere: one release, one try.
      const isHead = this.lines.get(pool)?.[0] === waiter;
      const woken = releases && isHead ? releases.next(pool, timeoutMs, stopWaiting.signal) : sleepUnless(timeoutMs, stopWaiting.signal);
      const first = await Promise.race([handed, woken.then(() => null)]);
      return received ?? first;
    } finally {
      this.leave(pool, waiter);
      stopWaiting.abort();
      signal?.removeEventListener('abort', abort);
    }
  }

  /**
   * Gives a slot whose download ended to the next download of its domain waiting here: a sync
   * one at once, a prefetch only when `handOver` confirms no sync waiter elsewhere is owed it.
   * False when nobody took it: the caller releases it.
   */
  async offer(slot: OriginSlot): Promise<boolean> {
    const first = (urgency?: LaneUrgency) => (this.lines.get(slot.pool) ?? []).find((waiter) => urgency === undefined || waiter.urgency === urgency);
    const sync = first('sync');
    if (sync) return this.give(slot, sync);
    if (!first() || !(await slot.handOver())) return false;
    const next = first();
    return next ? this.give(slot, next) : false;
  }

  private give(slot: OriginSlot, waiter: Waiter): boolean {
    this.leave(slot.pool, waiter);
    waiter.take(slot);
    return true;
  }

  private enter(pool: string, waiter: Waiter): void {
    const line = this.lines.get(pool) ?? [];
    const at = line.findIndex((other) => (other.urgency === 'async' && waiter.urgency === 'sync') || (other.urgency === waiter.urgency && other.ticket > waiter.ticket));
    line.splice(at === -1 ? line.length : at, 0, waiter);
    this.lines.set(pool, line);
  }

  private leave(pool: string, waiter: Waiter): void {
    const line = this.lines.get(pool);
    if (!line) return;
    const at = line.indexOf(waiter);
    if (at !== -1) line.splice(at, 1);
    if (line.length === 0) this.lines.delete(pool);
  }
}

function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
