import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { AppConfig } from '@image-cloud/config';
import { ImageService } from '@image-cloud/image-service';
import {
  FailureCache,
  OutcomeWaiter,
  RenderQueues,
  createBlockingConnection,
  createFailFastConnection,
} from '@image-cloud/job-queue';
import type { Logger } from '@image-cloud/logger';
import { LocalDirectoryStorage } from '@image-cloud/storage';
import { createApp } from './create-app';

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
  const queues = new RenderQueues({ connection: redis, prefix: config.queuePrefix, asyncAttempts: config.worker.asyncAttempts });
  const waiter = new OutcomeWaiter(subscriber, config.queuePrefix, config.server.pollIntervalMs);
  // Not awaited: the server listens (and answers 503) while Redis is still away.
  waiter.start().catch((error: Error) => logger.warn('cannot subscribe to job outcomes', { error: error.message }));
  const failures = new FailureCache(redis, config.queuePrefix);
  const service = new ImageService({ storage, queues, waiter, failures, waitTimeoutMs: config.server.waitTimeoutMs });

  const app = createApp({ config, service, redis, logger });
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
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await waiter.close();
      await queues.close();
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}
