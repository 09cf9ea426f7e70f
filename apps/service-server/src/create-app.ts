import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import type { AppConfig } from '@image-cloud/config';
import type { ImageService } from '@image-cloud/image-service';
import type { Logger } from '@image-cloud/logger';
import type { ProcessMetrics, ServerMetrics } from '@image-cloud/metrics';
import type { BatchTracker, PrefetchService } from '@image-cloud/prefetch';
import type { StoreWritability } from '@image-cloud/storage';
import type { TenantDirectory, TenantRateLimiter } from '@image-cloud/tenant-auth';
import { authenticate, requireAdmin } from './http/authenticate';
import { errorHandler, notFound } from './http/error-response';
import { methodNotAllowed } from './http/method-not-allowed';
import { refuseSelfOrigins } from './http/refuse-self-origins';
import { requestLog } from './http/request-log';
import type { ShutdownDrain } from './http/shutdown-drain';
import { alternativeCloudsRoutes } from './routes/alternative-clouds-routes';
import { healthRoutes } from './routes/health-routes';
import { imageRoutes } from './routes/image-routes';
import { metricsRoutes } from './routes/metrics-routes';
import { openApiRoutes } from './routes/openapi-routes';
import { prefetchRoutes } from './routes/prefetch-routes';
import { statusRoutes } from './routes/status-routes';

export interface AppDeps {
  config: AppConfig;
  service: ImageService;
  redis: Redis;
  logger: Logger;
  tenants: TenantDirectory;
  limiter: TenantRateLimiter;
  prefetch: PrefetchService;
  batches: BatchTracker;
  metrics: ServerMetrics;
  /** Whether the image store takes writes (readiness). */
  store: StoreWritability;
  /** Every other process's metrics for /metrics (under `npm start`, gathered by the launcher). */
  otherProcessMetrics: () => Promise<ProcessMetrics[]>;
  /** Refuses new requests and answers waiting ones once the server is stopping. */
  drain: ShutdownDrain;
}

/** Every route of the ServiceServer, in order. */
export function createApp({ config, service, redis, logger, tenants, limiter, prefetch, batches, metrics, store, otherProcessMetrics, drain }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  // Image GETs also accept signed URLs (browsers); everything else needs a token.
  const auth = {
    directory: tenants,
    signingKeys: config.signingKeys,
    signedUrlMaxLifetimeSeconds: config.signedUrlMaxLifetimeSeconds,
    limiter,
    logger,
    signedPaths: ['/get_image', '/get_thumbnail', '/image_info'],
  };

  app.use(requestLog(logger, metrics));
  app.use(drain.middleware);
  app.use(healthRoutes(redis, store, config.queuePrefix));
  app.use(metricsRoutes(metrics, otherProcessMetrics));
  app.use(statusRoutes());
  app.use(openApiRoutes({ thumbnailSizes: config.thumbnailSizes }));
  app.use(['/get_image', '/get_thumbnail', '/image_info', '/alternative_clouds', '/fire_and_forget'], authenticate(auth));
  app.delete('/delete_image', requireAdmin(tenants));
  app.use(['/get_image', '/get_thumbnail', '/image_info'], refuseSelfOrigins({ selfHosts: config.selfHosts, peers: config.peers }));
  app.use(imageRoutes(service, config));
  app.use(prefetchRoutes(prefetch, batches, metrics));
  app.use(alternativeCloudsRoutes(config.peers));
  app.use(methodNotAllowed(app));
  app.use(notFound);
  app.use(errorHandler(logger, config.server.negativeCacheSeconds));
  return app;
}
