import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from '@image-cloud/config';
import { type LaneSize, peerImageUrl } from '@image-cloud/contracts';
import { createRenderPipeline, type DownloadLeases } from '@image-cloud/image-pipeline';
import { type JobEvent, createBlockingConnection, parkedJobPromoter, startRenderWorker, wrongEvictionPolicy } from '@image-cloud/job-queue';
import type { Logger } from '@image-cloud/logger';
import { createOriginFetcher } from '@image-cloud/origin-fetch';
import { OriginSlots, RedisLease, originKeys } from '@image-cloud/origin-protection';
import { BatchTracker } from '@image-cloud/prefetch';
import { RenderPool } from '@image-cloud/render-sandbox';
import { LocalDirectoryStorage } from '@image-cloud/storage';

export interface ImageWorkerOptions {
  /** Built render child script. @defaultValue render-child.js beside this bundle */
  renderChildScript?: string;
  onJobEvent?: (event: JobEvent) => void;
}

export interface RunningWorker {
  size: LaneSize;
  /** Jobs and renders running now, and the most that ever ran at once in this process. */
  stats(): { activeJobs: number; maxActiveJobs: number; activeRenders: number; maxActiveRenders: number };
  /** Stops taking jobs, lets running ones finish within `graceMs`, then disconnects. */
  close(graceMs?: number): Promise<void>;
}

/** Peers are our own clouds, listed in CONFIG: trusted, usually on private addresses. */
const ANY_ADDRESS = ['0.0.0.0/0', '::/0'];

/**
 * Wires one image-worker process for one lane size (WORKER_LANE): storage, origin fetcher,
 * download leases, a pool of killable render children (one per job slot) and the render pipeline.
 */
export async function startImageWorker(config: AppConfig, logger: Logger, options: ImageWorkerOptions = {}): Promise<RunningWorker> {
  const size = config.workerLane;
  const connection = createBlockingConnection(config.redisUrl, `image-cloud:worker-${size}`);
  connection.on('error', (error) => logger.debug('redis connection error', { error: error.message }));

  const policy = await wrongEvictionPolicy(connection);
  if (policy) {
    connection.disconnect();
    throw new Error(`Redis maxmemory-policy is "${policy}"; it must be "noeviction" or queued jobs and locks can be evicted silently.`);
  }

  const storage = new LocalDirectoryStorage({ dataDir: config.dataDir });
  const fetcherOptions = { ...config.fetch, maxBytes: config.limits.maxSourceBytes };
  const origin = createOriginFetcher({ ...fetcherOptions, allowPrivateOrigins: [...config.allowPrivateOrigins] });
  const peerFetcher = createOriginFetcher({ ...fetcherOptions, allowPrivateOrigins: ANY_ADDRESS });
  const peers = config.peers.map((peer) => ({
    url: peer,
    source: {
      fetch: (url: string, fetchOptions?: { signal?: AbortSignal }) => peerFetcher.fetch(peerImageUrl(peer, url), fetchOptions),
    },
  }));

  const parked = parkedJobPromoter(connection, config.queuePrefix);
  const originSlots = new OriginSlots(connection, config.queuePrefix, {
    domains: config.domains,
    leaseMs: config.fetch.slotLeaseMs,
    backoffMs: config.fetch.backoffMs,
    wakeParked: (waiterId) => parked.promote(waiterId),
  });
  // The lease on an original covers a sync job's wait for a download slot and the download itself.
  const leaseTtlMs = config.fetch.slotWaitMs + config.fetch.totalTimeoutMs + 5_000;
  const leases: DownloadLeases = {
    tryAcquire: (originalKey) => RedisLease.tryAcquire(connection, originKeys.downloadLock(config.queuePrefix, originalKey), leaseTtlMs),
    isHeld: (originalKey) => RedisLease.isHeld(connection, originKeys.downloadLock(config.queuePrefix, originalKey)),
  };

  // One render child per job slot: concurrency never exceeds the cores this process owns.
  const renderPool = new RenderPool({
    childScript: options.renderChildScript ?? join(__dirname, 'render-child.js'),
    size: config.worker.concurrency,
    onChildReplaced: (reason) => logger.info('render child replaced', { reason }),
  });
  await renderPool.ready();

  const pipeline = createRenderPipeline({
    storage,
    origin,
    peers,
    leases,
    limits: { maxPixels: config.limits.maxPixels, maxFrames: config.limits.maxFrames },
    quality: config.worker.quality,
    render: (bytes, probe, transform, renderOptions) => renderPool.render(bytes, probe, transform, renderOptions),
    bigLane: { pixels: config.worker.bigLanePixels, bytes: config.worker.bigLaneBytes },
    downloadWaitMs: leaseTtlMs,
    originSlots,
    originSlotWaitMs: config.fetch.slotWaitMs,
  });

  const budgetMs = size === 'big' ? config.worker.bigBudgetMs : config.worker.normalBudgetMs;
  const batches = new BatchTracker(connection, config.queuePrefix);
  const worker = await startRenderWorker({
    size,
    connection,
    prefix: config.queuePrefix,
    concurrency: config.worker.concurrency,
    negativeCacheSeconds: config.server.negativeCacheSeconds,
    asyncAttempts: config.worker.asyncAttempts,
    process: (job, context) => pipeline.run(job, { budgetMs, lane: job.lane, signal: context.signal, waiterId: context.waiterId }),
    // A prefetch of a fire_and_forget batch counts in the batch's progress once it has ended for good.
    onFinalOutcome: async (job, outcome) => {
      if (job.batchId) await batches.finished(job.batchId, outcome);
    },
    onJobEvent: (event) => {
      options.onJobEvent?.(event);
      logger.debug('job finished', {
        lane: event.lane,
        outcome: event.outcome,
        durationMs: event.durationMs,
        ...(event.rerouteReason ? { reason: event.rerouteReason } : {}),
        ...(event.error ? { code: event.error.code, reason: event.error.message } : {}),
      });
    },
    onError: (error) => logger.warn('worker error', { error: error.message }),
  });

  return {
    size,
    stats: () => {
      const jobs = worker.stats();
      const renders = renderPool.stats;
      return { activeJobs: jobs.active, maxActiveJobs: jobs.maxActive, activeRenders: renders.active, maxActiveRenders: renders.maxActive };
    },
    async close(graceMs = 30_000) {
      const closing = worker.close().then(() => true);
      const finished = await Promise.race([closing, sleep(graceMs, false, { ref: false })]);
      if (!finished) await worker.close(true);
      await renderPool.close();
      await parked.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
