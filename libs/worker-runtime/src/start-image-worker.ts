import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'bullmq';
import type { AppConfig } from '@image-cloud/config';
import { type Lane, laneOf } from '@image-cloud/contracts';
import { createRenderPipeline, type DownloadLeases } from '@image-cloud/image-pipeline';
import { configureSharp } from '@image-cloud/imaging';
import { RedisLease, createBlockingConnection, redisKeys, startLaneWorker, wrongEvictionPolicy } from '@image-cloud/job-queue';
import type { Logger } from '@image-cloud/logger';
import { createOriginFetcher } from '@image-cloud/origin-fetch';
import { LocalDirectoryStorage } from '@image-cloud/storage';

export interface RunningWorker {
  lanes: Lane[];
  workers: Worker[];
  /** Stops taking jobs, lets running ones finish within `graceMs`, then disconnects. */
  close(graceMs?: number): Promise<void>;
}

/** Peers are our own clouds, listed in CONFIG: trusted, usually on private addresses. */
const ANY_ADDRESS = ['0.0.0.0/0', '::/0'];

/**
 * Wires one image-worker process: storage, origin fetcher, download leases and the render pipeline,
 * consuming the sync lane of its size (normal or big).
 */
export async function startImageWorker(config: AppConfig, logger: Logger): Promise<RunningWorker> {
  configureSharp({ threadsPerJob: 1 });
  const connection = createBlockingConnection(config.redisUrl, `image-cloud:worker-${config.workerLane}`);
  connection.on('error', (error) => logger.debug('redis connection error', { error: error.message }));

  const policy = await wrongEvictionPolicy(connection);
  if (policy) {
    connection.disconnect();
    throw new Error(`Redis maxmemory-policy is "${policy}"; it must be "noeviction" or queued jobs and locks can be evicted silently.`);
  }

  const storage = new LocalDirectoryStorage({ dataDir: config.dataDir });
  const fetcherOptions = {
    ...config.fetch,
    maxBytes: config.limits.maxSourceBytes,
  };
  const origin = createOriginFetcher({ ...fetcherOptions, allowPrivateOrigins: [...config.allowPrivateOrigins] });
  const peerFetcher = createOriginFetcher({ ...fetcherOptions, allowPrivateOrigins: ANY_ADDRESS });
  const peers = config.peers.map((peer) => ({
    url: peer,
    source: {
      fetch: (url: string, options?: { signal?: AbortSignal }) =>
        peerFetcher.fetch(`${peer.replace(/\/$/, '')}/get_image?url=${encodeURIComponent(url)}&only_send_if_local=true`, options),
    },
  }));

  const leaseTtlMs = config.fetch.totalTimeoutMs + 5_000;
  const leases: DownloadLeases = {
    tryAcquire: (originalKey) => RedisLease.tryAcquire(connection, redisKeys.downloadLock(config.queuePrefix, originalKey), leaseTtlMs),
    isHeld: (originalKey) => RedisLease.isHeld(connection, redisKeys.downloadLock(config.queuePrefix, originalKey)),
  };
  const pipeline = createRenderPipeline({
    storage,
    origin,
    peers,
    leases,
    limits: { maxPixels: config.limits.maxPixels, maxFrames: config.limits.maxFrames },
    quality: config.worker.quality,
    downloadWaitMs: leaseTtlMs,
  });

  const size = config.workerLane;
  const budgetMs = size === 'big' ? config.worker.bigBudgetMs : config.worker.normalBudgetMs;
  const lanes: Lane[] = [laneOf('sync', size)];
  const workers = lanes.map((lane) =>
    startLaneWorker({
      lane,
      connection,
      prefix: config.queuePrefix,
      concurrency: config.worker.concurrency,
      negativeCacheSeconds: config.server.negativeCacheSeconds,
      process: (job, context) => pipeline.run(job, { budgetMs, lane: size, signal: context.signal }),
      onJobEvent: (event) =>
        logger.debug('job finished', {
          lane: event.lane,
          outcome: event.outcome,
          durationMs: event.durationMs,
          ...(event.error ? { code: event.error.code, reason: event.error.message } : {}),
        }),
      onError: (error) => logger.warn('worker error', { error: error.message }),
    }),
  );
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));

  return {
    lanes,
    workers,
    async close(graceMs = 30_000) {
      const closing = Promise.all(workers.map((worker) => worker.close()));
      const finished = await Promise.race([closing.then(() => true), sleep(graceMs, undefined, { ref: false }).then(() => false)]);
      if (!finished) await Promise.all(workers.map((worker) => worker.close(true)));
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
