import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { AppConfig } from '@image-cloud/config';
import { ImageService, OverloadGuard } from '@image-cloud/image-service';
import { FailureCache, FetchQueue, OutcomeWaiter, RenderQueues, createBlockingConnection, createFailFastConnection } from '@image-cloud/job-queue';
import { LaneLoad, LanePolicy, RenderCosts } from '@image-cloud/lane-policy';
import type { Logger } from '@image-cloud/logger';
import { BatchTracker, PrefetchService } from '@image-cloud/prefetch';
import { LocalDirectoryStorage } from '@image-cloud/storage';
import { TenantDirectory, TenantRateLimiter } from '@image-cloud/tenant-auth';
import { createApp } from './create-app';

/** Time in-flight requests get to finish on shutdown before their connections are cut. */
const CLOSE_GRACE_MS = 8_000;

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Builds the ServiceServer from config (storage, queues, waiter, routes) and listens. */
export async function startServiceServer(config: AppConfig, logger: Logger): Promise<RunningServer> {
  const redis = createFailFastConnection(config.redisUrl, 'image-cloud:server');
  const subscriber = createBlockingConnection(config.redisUrl, 'image-cloud:server-outcomes');
  redis.on('error', (error) => logger.debug('redis connection error', { error: error.message }));
  subscriber.on('error', (error) => logger.debug('redis subscriber error', { error: error.message }));

  const storage = new LocalDirectoryStorage({ dataDir: config.dataDir });
  const renderQueues = new RenderQueues(redis, config.queuePrefix, config.worker.asyncAttempts);
  const fetchQueue = new FetchQueue(redis, config.queuePrefix, config.worker.asyncAttempts);
  const waiter = new OutcomeWaiter(subscriber, config.queuePrefix, config.server.pollIntervalMs);
  // Not awaited: the server listens (and answers 503) while Redis is still away.
  waiter.start().catch((error: Error) => logger.warn('cannot subscribe to job outcomes', { error: error.message }));
  const failures = new FailureCache(redis, config.queuePrefix);
  const overload = new OverloadGuard(renderQueues, new LaneLoad(redis, config.queuePrefix), config.server.overloadWaitMs);
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
  });

  const tenants = new TenantDirectory(config.tenants, config.adminTokens);
  const limiter = new TenantRateLimiter(redis, config.queuePrefix);
  const batches = new BatchTracker(redis, config.queuePrefix);
  const prefetch = new PrefetchService({ storage, queue: fetchQueue, batches });
  const app = createApp({ config, service, redis, logger, tenants, limiter, prefetch, batches });
  const server = app.listen(config.port, config.host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  // Keep-alive longer than typical load balancers' idle timeout, so they close first.
  server.keepAliveTimeout = 65_000;

  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      // In-flight requests may finish; keep-alive connections are closed as soon as they turn idle.
      await new Promise<void>((resolve) => {
        const sweep = setInterval(() => server.closeIdleConnections(), 100);
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearInterval(sweep);
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      await waiter.close();
      await Promise.all([renderQueues.close(), fetchQueue.close()]);
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}
