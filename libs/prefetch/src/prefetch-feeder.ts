import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type FetchJob, fetchJobFor, fetchJobIdOf } from '@image-cloud/contracts';
import type { FetchQueue } from '@image-cloud/job-queue';
import type { BatchTracker } from './batch-tracker';
import type { BacklogEntry, PrefetchBacklog } from './prefetch-backlog';

/** One feeder at a time cluster-wide, or two would both see free ready slots and overfill them. */
const LOCK_MS = 10_000;

/**
 * Keeps the fetch queue's prefetches topped up to `readyJobs` from the tenants' compact backlogs,
 * taken by fair share (one of each tenant in turn); within the fetch queue each tenant's jobs keep
 * their consecutive priorities, so tenants still share the stage round-robin. Run after every
 * submission and periodically by the workers.
 */
export class PrefetchFeeder {
  constructor(
    private readonly deps: { redis: Redis; prefix: string; backlog: PrefetchBacklog; queue: FetchQueue; batches: BatchTracker; readyJobs: number },
  ) {}

  private get lockKey(): string {
    return `${this.deps.prefix}:prefetch-feeder-lock`;
  }

  /** Moves prefetches from the backlogs into the fetch queue; returns how many jobs it added. */
  async topUp(): Promise<number> {
    const { redis, backlog, queue, readyJobs } = this.deps;
    const token = randomUUID();
    if ((await redis.set(this.lockKey, token, 'PX', LOCK_MS, 'NX')) !== 'OK') return 0;
    try {
      const free = readyJobs - (await queue.readyPrefetchCount());
      const entries = await backlog.take(free);
      return entries.length === 0 ? 0 : await this.enqueue(entries);
    } finally {
      if ((await redis.get(this.lockKey)) === token) await redis.del(this.lockKey);
    }
  }

  private async enqueue(entries: BacklogEntry[]): Promise<number> {
    const { backlog, queue, batches } = this.deps;
    const jobs = entries.map((entry) => fetchJobFor(entry.url, 'async', { batchId: entry.batchId, placeholders: entry.placeholders }));
    const ids = jobs.map((job) => fetchJobIdOf(job));
    const queued = await queue.existingPrefetchIds(ids);
    // A URL whose prefetch entered the fetch queue while it waited here is a duplicate after all.
    const seen = new Set<string>();
    const duplicatesByBatch = new Map<string, number>();
    const byTenant = new Map<string, Array<{ entry: BacklogEntry; job: FetchJob }>>();
    entries.forEach((entry, i) => {
      if (queued.has(ids[i]!) || seen.has(ids[i]!)) {
        duplicatesByBatch.set(entry.batchId, (duplicatesByBatch.get(entry.batchId) ?? 0) + 1);
        return;
      }
      seen.add(ids[i]!);
      byTenant.set(entry.tenant, [...(byTenant.get(entry.tenant) ?? []), { entry, job: jobs[i]! }]);
    });
    const groups = [...byTenant.entries()];
    for (let g = 0; g < groups.length; g++) {
      const [tenant, group] = groups[g]!;
      try {
        await queue.enqueueBulk(group.map(({ job }) => job), { fairShareKey: tenant });
      } catch (error) {
        await backlog.putBack(groups.slice(g).flatMap(([, rest]) => rest.map(({ entry }) => entry))).catch(() => undefined);
        throw error;
      }
    }
    for (const [batchId, count] of duplicatesByBatch) await batches.countLateDuplicates(batchId, count);
    return seen.size;
  }
}
