import { type Lane, laneSize, laneUrgency } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { type RenderQueues, orUnavailable } from '@image-cloud/job-queue';
import { type LaneCapacity, type LaneLoad, estimateWaitMs } from '@image-cloud/lane-policy';

/** How long one reading of the queue is reused: the check stays off Redis's hot path. */
const READING_TTL_MS = 250;
const MAX_RETRY_AFTER_SECONDS = 60;

interface Reading {
  at: number;
  jobsAhead: number;
  capacity: LaneCapacity;
}

/**
 * Policy 5, overload is answered early: when the backlog means a new request cannot finish in
 * time, answer 503 at once instead of queueing it. The estimate counts only work really ahead of
 * the request (running renders, and waiting sync renders; for a prefetch, those and the waiting
 * sync renders too), the live worker slots and the faded average time of renders that finished.
 * It never refuses while a slot is free, so it heals as soon as the queue drains.
 */
export class OverloadGuard {
  private readonly readings = new Map<Lane, Reading>();

  constructor(
    private readonly queues: RenderQueues,
    private readonly load: LaneLoad,
    private readonly maxWaitMs: number,
    /** Told of every refusal, e.g. to count it. */
    private readonly onRefused: (lane: Lane) => void = () => undefined,
  ) {}

  async check(lane: Lane): Promise<void> {
    const reading = await this.read(lane);
    const waitMs = estimateWaitMs(reading.jobsAhead, reading.capacity);
    if (waitMs <= this.maxWaitMs) return;
    this.onRefused(lane);
    if (!Number.isFinite(waitMs)) {
      throw new ImageCloudError('overloaded', 'No image worker is serving this lane right now; try again shortly.', { retryAfterSeconds: 30 });
    }
    throw new ImageCloudError(
      'overloaded',
      `The image cloud is busy: about ${Math.ceil(waitMs / 1000)} s of work is queued ahead of this image; try again shortly.`,
      { retryAfterSeconds: Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(waitMs / 1000))) },
    );
  }

  private async read(lane: Lane): Promise<Reading> {
    const cached = this.readings.get(lane);
    if (cached && Date.now() - cached.at < READING_TTL_MS) return cached;
    const size = laneSize(lane);
    const [waiting, active, capacity] = await orUnavailable(() =>
      Promise.all([this.queues.waitingCount(lane), this.queues.activeCount(size), this.load.capacity(size)]),
    );
    // Async jobs only count when they are already running: every waiting sync job goes first.
    const jobsAhead = laneUrgency(lane) === 'sync' ? waiting + active : waiting + active + (await this.queues.waitingCount(`sync-${size}`));
    const reading = { at: Date.now(), jobsAhead, capacity };
    this.readings.set(lane, reading);
    return reading;
  }
}
