import type { Redis } from 'ioredis';
import { ImageCloudError } from '@image-cloud/errors';
import type { OutcomeNotice } from './outcome-publisher';
import { redisKeys } from './redis-keys';

export interface WaitOptions<T> {
  jobId: string;
  /** Epoch ms after which the wait gives up. */
  deadline: number;
  /** Looks for the finished result (in storage); null while it is not there. */
  findResult: () => Promise<T | null>;
  /**
   * `performance.now()` taken just before the caller's own `findResult` found nothing, and before
   * it last looked at the job's recorded failure: the wait then skips its first look at both
   * unless an outcome of the job was announced since, as neither could have changed without one
   * (a worker records a job's failure, then announces it). A lost notice, or a failure recorded for
   * the job by another job's run (a render finding the original corrupt), costs at most one poll
   * interval.
   */
  absentSince?: number;
  /** Looks for a recorded failure of the job. */
  findFailure: () => Promise<ImageCloudError | null>;
  /** Called every few polls: makes sure the job still exists (idempotent re-enqueue). */
  reassure?: () => Promise<void>;
  /** Decides what a wait past the deadline answers (overloaded vs processing timeout). */
  onDeadline: () => Promise<ImageCloudError>;
  signal?: AbortSignal;
}

type Wake = (notice: OutcomeNotice | null) => void;

/** How many poll ticks pass between two `reassure` calls. */
const REASSURE_EVERY_TICKS = 4;

/** Outcome notices remembered by job id (about a hundred bytes each), so a wait knows whether its job was announced just before it began. */
const RECENT_OUTCOMES_MAX = 10_000;

/**
 * Waits for job results without trusting any single event stream: a pub/sub notice only wakes the
 * waiter early, and every poll interval it re-checks storage and the failure cache itself. A missed
 * notice therefore costs at most one poll interval, and a vanished job is re-enqueued.
 *
 * Every notice on the channel is also remembered for a while (job id and arrival time, bounded),
 * so a wait whose caller has just looked and found nothing need not look again at once when no
 * outcome was announced in between: with S3 storage each look is a signed request.
 */
export class OutcomeWaiter {
  private readonly wakers = new Map<string, Set<Wake>>();
  /** When each recent notice arrived (performance.now()), by job id; map order is arrival order. */
  private readonly recentOutcomes = new Map<string, number>();
  /** Arrival time of the newest notice no longer remembered: before it, an id's absence proves nothing. */
  private forgottenUpTo = -Infinity;
  /** Set once subscribed: before that, notices are not heard at all. */
  private listening = false;
  private started = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly prefix: string,
    private readonly pollIntervalMs: number,
  ) {}

  /**
   * Subscribes to outcome notices. Does not wait for Redis: a server may start before Redis is up
   * (it answers 503 meanwhile); ioredis subscribes on connect and again after every reconnect.
   * The promise resolves once subscribed, for callers that want to wait.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.subscriber.on('message', (_channel: string, message: string) => this.onMessage(message));
    await this.subscriber.subscribe(redisKeys.outcomeChannel(this.prefix));
    this.listening = true;
  }

  /** Number of requests currently waiting (for metrics and overload decisions). */
  get waiting(): number {
    let count = 0;
    for (const set of this.wakers.values()) count += set.size;
    return count;
  }

  async wait<T>(options: WaitOptions<T>): Promise<T> {
    let pending: OutcomeNotice | null | undefined;
    let wake: Wake | undefined;
    const register: Wake = (notice) => {
      pending = notice;
      wake?.(notice);
    };
    this.addWaker(options.jobId, register);
    try {
      for (let tick = 1; ; tick++) {
        const lookedJustNow = tick === 1 && options.absentSince !== undefined && !this.announcedSince(options.jobId, options.absentSince);
        if (!lookedJustNow) {
          const result = await options.findResult();
          if (result !== null) return result;
          const failure = await options.findFailure();
          if (failure) throw failure;
        }
        if (pending && !pending.ok) throw ImageCloudError.fromJSON(pending.error);

        const remaining = options.deadline - Date.now();
        if (remaining <= 0) throw await options.onDeadline();
        if (options.signal?.aborted) throw new ImageCloudError('unavailable', 'The client went away while waiting.');

        if (pending === undefined) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, Math.min(this.pollIntervalMs, remaining));
            const onAbort = () => done();
            options.signal?.addEventListener('abort', onAbort, { once: true });
            function done() {
              clearTimeout(timer);
              options.signal?.removeEventListener('abort', onAbort);
              wake = undefined;
              resolve();
            }
            wake = done;
          });
        }
        // `pending` is set from the subscriber callback while we slept; TypeScript cannot see that.
        const notice = pending as OutcomeNotice | null | undefined;
        if (notice && !notice.ok) throw ImageCloudError.fromJSON(notice.error);
        pending = undefined;
        if (tick % REASSURE_EVERY_TICKS === 0) await options.reassure?.();
      }
    } finally {
      this.removeWaker(options.jobId, register);
    }
  }

  async close(): Promise<void> {
    this.wakers.clear();
    if (this.started) await this.subscriber.unsubscribe().catch(() => undefined);
  }

  private onMessage(message: string): void {
    let notice: OutcomeNotice;
    try {
      notice = JSON.parse(message) as OutcomeNotice;
    } catch {
      return;
    }
    if (typeof notice?.jobId !== 'string') return;
    this.remember(notice.jobId);
    const set = this.wakers.get(notice.jobId);
    if (set) for (const waker of set) waker(notice);
  }

  private remember(jobId: string): void {
    this.recentOutcomes.delete(jobId);
    this.recentOutcomes.set(jobId, performance.now());
    if (this.recentOutcomes.size <= RECENT_OUTCOMES_MAX) return;
    const [oldestId, oldestAt] = this.recentOutcomes.entries().next().value!;
    this.recentOutcomes.delete(oldestId);
    this.forgottenUpTo = oldestAt;
  }

  /** Whether an outcome of the job may have been announced at or after `since` (performance.now()). */
  private announcedSince(jobId: string, since: number): boolean {
    if (!this.listening || since <= this.forgottenUpTo) return true;
    const at = this.recentOutcomes.get(jobId);
    return at !== undefined && at >= since;
  }

  private addWaker(jobId: string, waker: Wake): void {
    let set = this.wakers.get(jobId);
    if (!set) this.wakers.set(jobId, (set = new Set()));
    set.add(waker);
  }

  private removeWaker(jobId: string, waker: Wake): void {
    const set = this.wakers.get(jobId);
    set?.delete(waker);
    if (set?.size === 0) this.wakers.delete(jobId);
  }
}
