import { type Lane, laneSize, laneUrgency } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { type LaneCapacity, type LaneLoad, type RenderQueues, estimateWaitMs, orUnavailable } from '@image-cloud/job-queue';

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
 * time, answer 503 at once instead of queueing it. The estimate uses the jobs ahead (waiting sync
 * jobs plus running ones), the live worker slots and the lane's measured job duration.
 */
export class OverloadGuard {
  private readonly readings = new Map<Lane, Reading>();

  constructor(
    private readonly queues: RenderQueues,
    private readonly load: LaneLoad,
    private readonly maxWaitMs: number,
  ) {}

  async check(lane: Lane): Promise<void> {
    const reading = await this.read(lane);
    const waitMs = estimateWaitMs(reading.jobsAhead, reading.capacity);
    if (waitMs <= this.maxWaitMs) return;
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
    const queue = this.queues.queue(size);
    const [waiting, active, capacity] = await orUnavailable(() =>
      Promise.all([this.queues.waitingCount(lane), queue.getActiveCount(), this.load.capacity(size)]),
    );
    // Async jobs only count when they are already running: every waiting sync job goes first.
    const jobsAhead = laneUrgency(lane) === 'sync' ? waiting + active : waiting + active + (await this.queues.waitingCount(`sync-${size}`));
    const reading = { at: Date.now(), jobsAhead, capacity };
    this.readings.set(lane, reading);
    return reading;
  }
}
