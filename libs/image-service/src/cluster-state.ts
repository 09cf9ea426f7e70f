import { LANE_SIZES, URGENCIES, fetchQueueNameOf, queueNameOf } from '@image-cloud/contracts';
import type { FetchQueue, RenderQueues } from '@image-cloud/job-queue';
import type { LaneLoad } from '@image-cloud/lane-policy';

/** States a queue is read in: render queues hold the sync lane in `waiting` and the async lane in `prioritized`. */
const STATES = ['waiting', 'prioritized', 'active', 'delayed'] as const;

type Queue = ReturnType<RenderQueues['queue']>;

/** The `queue` label of the prefetch backlogs' reading: URLs waiting before the fetch queue. */
const PREFETCH_BACKLOG_QUEUE = 'prefetch-backlog';

export interface QueueReading {
  queue: string;
  state: string;
  jobs: number;
  oldestSeconds?: number;
}

export interface ClusterReading {
  queues: QueueReading[];
  slots: Array<{ size: string; slots: number }>;
}

/** One queue's counts per state (one Redis round trip), and the age of its oldest waiting job. */
async function readQueue(name: string, queue: Queue, now: number): Promise<QueueReading[]> {
  const [counts, [oldest]] = await Promise.all([queue.getJobCounts(...STATES), queue.getJobs(['wait'], 0, 0, true)]);
  return STATES.map((state) => ({
    queue: name,
    state,
    jobs: counts[state] ?? 0,
    ...(state === 'waiting' ? { oldestSeconds: oldest ? Math.max(0, now - oldest.timestamp) / 1000 : 0 } : {}),
  }));
}

/**
 * What an operator wants to see of the queues right now: jobs per queue and state, the wait of the
 * oldest waiting job, and the live worker slots per lane size. Costs a few O(1) Redis reads per
 * queue, whatever the number of jobs queued.
 */
export async function readClusterState(
  renderQueues: RenderQueues,
  fetchQueue: FetchQueue,
  laneLoad: LaneLoad,
  /** URLs waiting in the tenants' prefetch backlogs, not yet in the fetch queue. */
  prefetchBacklog: () => Promise<number> = async () => 0,
): Promise<ClusterReading> {
  const now = Date.now();
  const backlog = async (): Promise<QueueReading[]> => [{ queue: PREFETCH_BACKLOG_QUEUE, state: 'waiting', jobs: await prefetchBacklog() }];
  const queues = [
    ...LANE_SIZES.map((size) => readQueue(queueNameOf(size), renderQueues.queue(size), now)),
    ...URGENCIES.map((urgency) => readQueue(fetchQueueNameOf(urgency), fetchQueue.queue(urgency), now)),
    backlog(),
  ];
  const slots = LANE_SIZES.map(async (size) => ({ size, slots: (await laneLoad.capacity(size)).slots }));
  // Awaited together: awaiting one after the other leaves the second set's rejections unhandled
  // when the first rejects (Redis gone mid-scrape), and an unhandled rejection ends the process.
  const [depths, lanes] = await Promise.all([Promise.all(queues), Promise.all(slots)]);
  return { queues: depths.flat(), slots: lanes };
}
