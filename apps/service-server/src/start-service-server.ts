import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type Server, createServer } from 'node:http';
import type { Express } from 'express';
import type { AppConfig } from '@image-cloud/config';
import { ImageService, OverloadGuard, readClusterState } from '@image-cloud/image-service';
import { FailureCache, FetchQueue, OutcomeWaiter, RenderQueues, createBlockingConnection, createFailFastConnection } from '@image-cloud/job-queue';
import { LaneLoad, LanePolicy, RenderCosts } from '@image-cloud/lane-policy';
import type { Logger } from '@image-cloud/logger';
import { MemoryTier } from '@image-cloud/memory-tier';
import { type ProcessMetrics, type Registry, ServerMetrics, createProcessRegistry } from '@image-cloud/metrics';
import { BatchTracker, PrefetchBacklog, PrefetchFeeder, PrefetchService } from '@image-cloud/prefetch';
import { StoreWritability } from '@image-cloud/storage';
import { createImageStorage } from '@image-cloud/storage-backend';
import { TenantDirectory, TenantRateLimiter } from '@image-cloud/tenant-auth';
import { authOptionsOf, createApp } from './create-app';
import { HitRequests } from './http/hit-requests';
import { LeanHitRoute } from './http/lean-hit-route';
import { SelfOrigins } from './http/refuse-self-origins';
import type { HotObject } from './http/send-stored';
import { ShutdownDrain } from './http/shutdown-drain';

/** Readiness writes a probe file at most this often, however often /readyz is asked. */
const STORE_PROBE_INTERVAL_MS = 1_000;

/** Time in-flight requests get to finish on shutdown before their connections are cut. */
const CLOSE_GRACE_MS = 8_000;

/**
 * When, within that grace, the requests still waiting (for a job, for capacity) are answered 503:
 * early enough that the answers are out before the connections are cut.
 */
const ANSWER_WAITING_AFTER_MS = 6_500;

export interface RunningServer {
  server: Server;
  /** The express app, whose routes are the HTTP API. */
  app: Express;
  /** This server's own metrics. */
  registry: Registry;
  port: number;
  url: string;
  close(): Promise<void>;
}

export interface ServiceServerOptions {
  /** Registry for this process's metrics. @defaultValue a new one labelled role "server" and PROCESS_INDEX */
  registry?: Registry;
  /** Every other process's metrics, added to /metrics (the launcher's, under `npm start`). @defaultValue none */
  otherProcessMetrics?: () => Promise<ProcessMetrics[]>;
}

/** Builds the ServiceServer from config (storage, queues, waiter, metrics, routes) and listens. */
export async function startServiceServer(config: AppConfig, logger: Logger, options: ServiceServerOptions = {}): Promise<RunningServer> {
  const redis = createFailFastConnection(config.redisUrl, 'image-cloud:server');
  const subscriber = createBlockingConnection(config.redisUrl, 'image-cloud:server-outcomes');
  redis.on('error', (error) => logger.debug('redis connection error', { error: error.message }));
  subscriber.on('error', (error) => logger.debug('redis subscriber error', { error: error.message }));

  // Told of every delete in any process of the store, and emptied when notices may have been missed.
  const tier = new MemoryTier<HotObject>({ maxBytes: config.server.memoryCacheBytes });
  const backend = await createImageStorage(config, {
    role: 'server',
    onCacheTrouble: (message, error) => logger.debug(message, { error: error?.message }),
    changes: { onInvalidate: (originalKey) => tier.invalidateOriginal(originalKey), onMissedNotices: () => tier.clear() },
  });
  const storage = backend.storage;
  const renderQueues = new RenderQueues(redis, config.queuePrefix, config.worker.asyncAttempts);
  const fetchQueue = new FetchQueue(redis, config.queuePrefix, config.worker.asyncAttempts);
  const waiter = new OutcomeWaiter(subscriber, config.queuePrefix, config.server.pollIntervalMs);
  // Not awaited: the server listens (and answers 503) while Redis is still away.
  waiter.start().catch((error: Error) => logger.warn('cannot subscribe to job outcomes', { error: error.message }));
  const failures = new FailureCache(redis, config.queuePrefix);
  const laneLoad = new LaneLoad(redis, config.queuePrefix);
  const backlog = new PrefetchBacklog(redis, config.queuePrefix);
  const metrics = new ServerMetrics(options.registry ?? createProcessRegistry({ role: 'server', index: config.processIndex }), {
    readClusterState: () => readClusterState(renderQueues, fetchQueue, laneLoad, () => backlog.waitingInAll()),
  });
  const overload = new OverloadGuard(renderQueues, laneLoad, config.server.overloadWaitMs, (lane) => metrics.countOverloadRefusal(lane));
  const lanes = new LanePolicy(config.worker);
  const renderCosts = new RenderCosts(redis, config.queuePrefix);
  const service = new ImageService({
    storage,
    fetchQueue,
    renderQueues,
    waiter,
    failures,
    overload,
    lanes,
    renderCosts: () => renderCosts.table(),
    waitTimeoutMs: config.server.waitTimeoutMs,
    onStartedInBigLane: (urgency, reason) => metrics.countStartedInBigLane(urgency, reason),
  });

  const tenants = new TenantDirectory(config.tenants, config.adminTokens);
  const limiter = new TenantRateLimiter(redis, config.queuePrefix);
  const batches = new BatchTracker(redis, config.queuePrefix);
  const feeder = new PrefetchFeeder({ redis, prefix: config.queuePrefix, backlog, queue: fetchQueue, batches, readyJobs: config.prefetch.readyJobs });
  const prefetch = new PrefetchService({ storage, queue: fetchQueue, batches, backlog, feeder, caps: config.prefetch });
  const otherProcessMetrics = options.otherProcessMetrics ?? (async () => []);
  const store = new StoreWritability(storage, STORE_PROBE_INTERVAL_MS, (state) => {
    if (state.writable) logger.info('image store writable again', { store: backend.location });
    else logger.error('image store cannot be written: not ready', { store: backend.location, cause: state.cause });
  });
  const drain = new ShutdownDrain(config.server.negativeCacheSeconds);
  const auth = authOptionsOf(config, tenants, limiter, logger);
  const selfOrigins = new SelfOrigins({ selfHosts: config.selfHosts, peers: config.peers });
  const app = createApp({ config, service, redis, logger, tenants, prefetch, batches, metrics, store, otherProcessMetrics, drain, auth, selfOrigins, tier });
  const hitRoute = new LeanHitRoute({
    fallback: app,
    tier,
    requests: new HitRequests({
      open: tenants.isOpen,
      signedUrlFormat: config.server.signedUrlFormat,
      thumbnailSizes: config.thumbnailSizes,
      quality: config.worker.quality,
    }),
    auth,
    selfOrigins,
    drain,
    logger,
    metrics,
    maxAgeSeconds: config.server.imageMaxAgeSeconds,
  });
  const server = createServer(hitRoute.listener).listen(config.port, config.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  // Keep-alive longer than typical load balancers' idle timeout, so they close first.
  server.keepAliveTimeout = 65_000;

  return {
    server,
    app,
    registry: metrics.registry,
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      // New requests are refused 503 at once; running ones may finish while the workers still run
      // their jobs; whoever still waits near the end of the grace gets a 503 rather than a cut connection.
      const { answeredWaiting } = await drain.drainAndClose(server, { answerWaitingAfterMs: ANSWER_WAITING_AFTER_MS, graceMs: CLOSE_GRACE_MS });
      if (answeredWaiting > 0) logger.warn('shutting down: answered the requests still waiting 503', { answered: answeredWaiting });
      await waiter.close();
      await Promise.all([renderQueues.close(), fetchQueue.close()]);
      redis.disconnect();
      subscriber.disconnect();
      await backend.close();
    },
  };
}
