import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from '@image-cloud/config';
import { type LaneSize, fetchJobIdOf, laneOf, peerImageUrl, renderJobIdOf } from '@image-cloud/contracts';
import { createFetchPipeline, createRenderPipeline } from '@image-cloud/image-pipeline';
import { probeHeaderInProcess } from '@image-cloud/imaging';
import {
  FetchQueue,
  type JobEvent,
  RenderQueues,
  createBlockingConnection,
  parkedJobPromoter,
  startFetchWorker,
  startRenderWorker,
  wrongEvictionPolicy,
} from '@image-cloud/job-queue';
import { LaneLoad, LanePolicy, RenderCosts } from '@image-cloud/lane-policy';
import type { Logger } from '@image-cloud/logger';
import { type Registry, WorkerMetrics, createProcessRegistry } from '@image-cloud/metrics';
import { createOriginFetcher } from '@image-cloud/origin-fetch';
import { OriginReleases, OriginSlots, downloadLeases } from '@image-cloud/origin-protection';
import { BatchTracker, PrefetchBacklog, PrefetchFeeder } from '@image-cloud/prefetch';
import { RenderPool } from '@image-cloud/render-sandbox';
import { type BudgetRun, DiskBudget } from '@image-cloud/storage';
import { createImageStorage } from '@image-cloud/storage-backend';
import { PrefetchGate } from './prefetch-gate';
import { measuredDownloads } from './measured-downloads';

export interface ImageWorkerOptions {
  /** Built render child script. @defaultValue render-child.js beside this bundle */
  renderChildScript?: string;
  onJobEvent?: (event: JobEvent) => void;
  /** Registry for this process's metrics. @defaultValue a new one labelled role "worker-<lane>" and PROCESS_INDEX */
  registry?: Registry;
}

export interface RunningWorker {
  size: LaneSize;
  /** This process's metrics. */
  registry: Registry;
  /** Jobs and renders running now, and the most that ever ran at once in this process. */
  stats(): { activeJobs: number; maxActiveJobs: number; activeRenders: number; maxActiveRenders: number; maxActiveProbes: number };
  /** Stops taking jobs, lets running ones finish within `graceMs`, then disconnects. */
  close(graceMs?: number): Promise<void>;
}

/** Peers are our own clouds, listed in CONFIG: trusted, usually on private addresses. */
const ANY_ADDRESS = ['0.0.0.0/0', '::/0'];
/** Beats on Redis's clock (lane-load): a SIGKILLed worker's slots stop counting as capacity within HEARTBEAT_TTL_MS. */
const HEARTBEAT_EVERY_MS = 1_000;
/** Four beats: a worker that misses up to three (a long GC pause, a slow Redis) still counts. */
const HEARTBEAT_TTL_MS = 4_000;
/** How often a process looks whether sync renders wait in the cluster. */
const PREFETCH_GATE_EVERY_MS = 100;
/** Prefetches stay held this long after the last sync work of the process. */
const PREFETCH_HOLD_OVER_MS = 50;
/** How often a worker tops the fetch queue's prefetches up from the tenants' backlogs. */
const PREFETCH_FEED_EVERY_MS = 500;
/** A header read takes milliseconds; a probe still running after this is a hostile file, killed with its child. */
const PROBE_BUDGET_MS = 5_000;

/**
 * Wires one image-worker process for one lane size (WORKER_LANE). It serves two stages:
 * - fetch: `fetch.concurrency` downloads at once (I/O: origin slots, leases, peers, limits);
 * - render: `worker.concurrency` renders at once, one killable render child per job slot, so
 *   concurrency never exceeds the cores this process owns.
 */
export async function startImageWorker(config: AppConfig, logger: Logger, options: ImageWorkerOptions = {}): Promise<RunningWorker> {
  const size = config.workerLane;
  const connection = createBlockingConnection(config.redisUrl, `image-cloud:worker-${size}`);
  connection.on('error', (error) => logger.debug('redis connection error', { error: error.message }));
  const releasesConnection = createBlockingConnection(config.redisUrl, `image-cloud:worker-${size}-releases`);
  releasesConnection.on('error', (error) => logger.debug('redis connection error', { error: error.message }));

  const policy = await wrongEvictionPolicy(connection);
  if (policy) {
    connection.disconnect();
    releasesConnection.disconnect();
    throw new Error(`Redis maxmemory-policy is "${policy}"; it must be "noeviction" or queued jobs and locks can be evicted silently.`);
  }

  const prefix = config.queuePrefix;
  const backend = await createImageStorage(config, {
    role: `worker-${size}`,
    maxVariantsPerOriginal: config.disk.maxVariantsPerOriginal,
    onCacheTrouble: (message, error) => logger.debug(message, { error: error?.message }),
  });
  const storage = backend.storage;
  // Every worker may run the budget; a lock file in DATA_DIR lets one of them run it per period.
  // Only DATA_DIR's images need one: with S3 the local disk holds a cache that bounds itself.
  const diskBudget = backend.kind !== 'local' ? null : new DiskBudget({
    dataDir: config.dataDir,
    maxBytes: config.disk.maxBytes,
    maxFraction: config.disk.maxFraction,
    checkEveryMs: config.disk.checkIntervalSeconds * 1000,
    removeOriginal: (originalKey) => storage.deleteImage(originalKey),
    onVariantsEvicted: (originalKey) => backend.announceChange(originalKey),
  });
  const { maxPixels, maxFrames, maxOutputPixels, maxOutputBytes } = config.limits;
  const limits = { maxPixels, maxFrames, maxOutputPixels, maxOutputBytes };
  const lockTimings = { lockDurationMs: config.worker.lockMs, stalledIntervalMs: config.worker.stalledCheckMs };
  const logFailure = (error: Error) => logger.warn('worker error', { error: error.message });
  let activeJobs = () => ({ render: 0, fetch: 0 });
  const metrics = new WorkerMetrics(options.registry ?? createProcessRegistry({ role: `worker-${size}`, index: config.processIndex }), {
    domains: Object.keys(config.domains),
    slots: { render: config.worker.concurrency, fetch: config.fetch.concurrency + config.fetch.prefetchConcurrency },
    activeJobs: () => activeJobs(),
  });
  // The request that queued each running job (from its payload), for the job's log line.
  const requestIds = new Map<string, string>();
  const noteRequest = (jobId: string, requestId: string | undefined) => requestId && requestIds.set(jobId, requestId);
  const onJobEvent = (event: JobEvent) => {
    options.onJobEvent?.(event);
    metrics.observeJob(event);
    const requestId = requestIds.get(event.jobId);
    requestIds.delete(event.jobId);
    // A full or read-only disk fails every miss: say so at the default level, with the fs error.
    if (event.error?.code === 'insufficient_storage') {
      logger.error('image store cannot be written', {
        ...(requestId ? { requestId } : {}),
        stage: event.stage,
        dataDir: config.dataDir,
        cause: (event.error.cause as Error | undefined)?.message ?? event.error.message,
      });
      // A full disk may be our own doing: check the budget now rather than at the next period.
      void diskBudget?.relieve().then((run) => run && logBudgetRun(run), logFailure);
    }
    logger.debug('job finished', {
      ...(requestId ? { requestId } : {}),
      stage: event.stage,
      lane: event.lane,
      outcome: event.outcome,
      durationMs: event.durationMs,
      ...(event.renderMs === undefined ? {} : { renderMs: event.renderMs }),
      ...(event.rerouteReason ? { reason: event.rerouteReason } : {}),
      ...(event.error ? { code: event.error.code, reason: event.error.message } : {}),
    });
  };

  // Info only when something was removed: a quiet check every minute is no news.
  const logBudgetRun = (run: BudgetRun) => {
    const removed = run.evictedVariants + run.evictedOriginals + run.staleTempFilesRemoved + run.trashRemoved;
    if (removed > 0) logger.info('disk budget checked', { dataDir: config.dataDir, ...run });
    else logger.debug('disk budget checked', { dataDir: config.dataDir, ...run });
  };
  diskBudget?.start(logBudgetRun, (error) => logger.error('disk budget check failed', { dataDir: config.dataDir, error: error.message }));

  let holdPrefetches = (_held: boolean): void => undefined;
  const gate = new PrefetchGate((held) => holdPrefetches(held), PREFETCH_HOLD_OVER_MS);

  // Fetch stage. Headers libvips must read are probed in a sandbox child of their own, so a probe never waits behind a render.
  // Render and probe children: the same sandboxed script, memory ceiling and replacement accounting.
  const sandboxPool = async (purpose: 'render' | 'probe', size: number): Promise<RenderPool> => {
    const pool = new RenderPool({
      childScript: options.renderChildScript ?? join(__dirname, 'render-child.js'),
      size,
      memoryLimitMb: config.worker.renderMemoryMb,
      onChildReplaced: (reason) => {
        metrics.countChildReplaced(reason);
        logger.info(`${purpose} child replaced`, { reason });
      },
    });
    await pool.ready();
    return pool;
  };
  const probePool = await sandboxPool('probe', 1);
  const fetcherOptions = { ...config.fetch, maxBytes: config.limits.maxSourceBytes };
  const origin = measuredDownloads(createOriginFetcher({ ...fetcherOptions, allowPrivateOrigins: [...config.allowPrivateOrigins] }), metrics);
  const peerFetcher = createOriginFetcher({ ...fetcherOptions, allowPrivateOrigins: ANY_ADDRESS });
  const peers = config.peers.map((peer) => ({
    url: peer,
    source: {
      fetch: (url: string, fetchOptions?: { signal?: AbortSignal }) => peerFetcher.fetch(peerImageUrl(peer, url), fetchOptions),
    },
  }));
  const parked = parkedJobPromoter(connection, prefix);
  const originSlots = new OriginSlots(connection, prefix, {
    domains: config.domains,
    leaseMs: config.fetch.slotLeaseMs,
    backoffMs: config.fetch.backoffMs,
    wakeParked: (waiterId) => parked.promote(waiterId),
  });
  const slotReleases = new OriginReleases(releasesConnection, prefix);
  await slotReleases.start();
  // The lease on an original covers a sync job's wait for a download slot and the download itself.
  const leaseTtlMs = config.fetch.slotWaitMs + config.fetch.totalTimeoutMs + 5_000;
  const leases = downloadLeases(connection, prefix, originSlots, leaseTtlMs);
  const fetchPipeline = createFetchPipeline({
    storage,
    origin,
    peers,
    leases,
    limits,
    probe: async (source, probeLimits, probeOptions) => {
      // A JPEG or PNG header is read here in plain JS (bounds-checked buffer reads, no decoder runs in
      // the worker), sparing the sandbox round trip; anything it is unsure of, and placeholders, which
      // need a decode, still go to the probe child.
      const inProcess = !probeOptions?.placeholders && 'bytes' in source ? probeHeaderInProcess(source.bytes, probeLimits) : undefined;
      return inProcess ?? probePool.probe(source, probeLimits, PROBE_BUDGET_MS, probeOptions);
    },
    downloadWaitMs: leaseTtlMs,
    originSlots,
    slotReleases,
    originSlotWaitMs: config.fetch.slotWaitMs,
    maxInLine: Math.floor(config.fetch.prefetchConcurrency / 2),
  });
  const batches = new BatchTracker(connection, prefix);
  const fetchWorker = await startFetchWorker({
    connection,
    prefix,
    concurrency: config.fetch.concurrency,
    prefetchConcurrency: config.fetch.prefetchConcurrency,
    negativeCacheSeconds: config.server.negativeCacheSeconds,
    ...lockTimings,
    process: (job, context) => {
      noteRequest(fetchJobIdOf(job), job.requestId);
      if (job.urgency === 'sync') return gate.during(() => fetchPipeline.run(job, context));
      // A batch's prefetch frees its download lease with the batch's count: one round trip, not two.
      return fetchPipeline.run(job, { ...context, keepLeaseWhenDone: job.batchId !== undefined });
    },
    onFinal: async (job, outcome, jobKey, lease) => {
      if (job.batchId) await batches.finished(job.batchId, outcome, jobKey, lease);
      else await lease?.release();
    },
    onJobEvent,
    onError: logFailure,
  });

  // Render stage.
  const renderPool = await sandboxPool('render', config.worker.concurrency);
  const laneLoad = new LaneLoad(connection, prefix);
  const renderPipeline = createRenderPipeline({
    storage,
    limits,
    quality: config.worker.quality,
    render: (source, probe, transform, renderOptions) => renderPool.render(source, probe, transform, renderOptions),
    lanes: new LanePolicy(config.worker),
    costs: new RenderCosts(connection, prefix),
  });
  const renderWorker = await startRenderWorker({
    size,
    connection,
    prefix,
    concurrency: config.worker.concurrency,
    negativeCacheSeconds: config.server.negativeCacheSeconds,
    asyncAttempts: config.worker.asyncAttempts,
    ...lockTimings,
    process: (job, context) => {
      noteRequest(renderJobIdOf(job), job.requestId);
      return gate.during(() => renderPipeline.run(job, context));
    },
    onJobEvent: (event) => {
      // Admission estimates from renders that finished; failures and reroutes are no render time.
      if (event.outcome === 'ok' && event.renderMs !== undefined) laneLoad.recordRender(size, event.durationMs).catch(logFailure);
      onJobEvent(event);
    },
    onError: logFailure,
  });

  holdPrefetches = (held) => fetchWorker.holdPrefetches(held);
  const renderQueues = new RenderQueues(connection, prefix, config.worker.asyncAttempts);
  const watchSyncWaiting = async () => gate.setSyncWaiting((await renderQueues.waitingCount(laneOf('sync', size)).catch(() => 0)) > 0);
  const prefetchGate = setInterval(() => void watchSyncWaiting(), PREFETCH_GATE_EVERY_MS);
  prefetchGate.unref();

  // Prefetches wait in compact per-tenant backlogs; the fetch queue holds only a bounded number ready.
  const fetchQueue = new FetchQueue(connection, prefix, config.worker.asyncAttempts);
  const feeder = new PrefetchFeeder({ redis: connection, prefix, backlog: new PrefetchBacklog(connection, prefix), queue: fetchQueue, batches, readyJobs: config.prefetch.readyJobs });
  let feeding: Promise<unknown> | null = null;
  const feed = setInterval(() => {
    feeding ??= feeder
      .topUp()
      .catch((error: Error) => logger.debug('prefetch feeder failed', { error: error.message }))
      .finally(() => (feeding = null));
  }, PREFETCH_FEED_EVERY_MS);
  feed.unref();

  const workerId = randomUUID();
  const beat = () => laneLoad.heartbeat(size, workerId, config.worker.concurrency, HEARTBEAT_TTL_MS).catch(logFailure);
  await beat();
  const heartbeat = setInterval(beat, HEARTBEAT_EVERY_MS);
  heartbeat.unref();

  activeJobs = () => ({ render: renderWorker.stats().active, fetch: origin.inFlight });

  return {
    size,
    registry: metrics.registry,
    stats: () => {
      const jobs = renderWorker.stats();
      const renders = renderPool.stats;
      return {
        activeJobs: jobs.active,
        maxActiveJobs: jobs.maxActive,
        activeRenders: renders.active,
        maxActiveRenders: renders.maxActive,
        maxActiveProbes: probePool.stats.maxActive,
      };
    },
    async close(graceMs = 30_000) {
      clearInterval(heartbeat);
      clearInterval(prefetchGate);
      clearInterval(feed);
      await feeding;
      diskBudget?.stop();
      await laneLoad.leave(size, workerId, config.worker.concurrency).catch(() => undefined);
      const closing = Promise.all([renderWorker.close(), fetchWorker.close()]).then(() => true);
      const finished = await Promise.race([closing, sleep(graceMs, false, { ref: false })]);
      if (!finished) await Promise.all([renderWorker.close(true), fetchWorker.close(true)]);
      await renderPool.close();
      await probePool.close();
      await backend.close();
      await renderQueues.close();
      await fetchQueue.close();
      await parked.close();
      await slotReleases.close();
      await connection.quit().catch(() => connection.disconnect());
      releasesConnection.disconnect();
    },
  };
}
