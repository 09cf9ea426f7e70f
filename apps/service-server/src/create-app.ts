import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import type { AppConfig } from '@image-cloud/config';
import type { ImageService } from '@image-cloud/image-service';
import type { Logger } from '@image-cloud/logger';
import type { MemoryTier } from '@image-cloud/memory-tier';
import type { ProcessMetrics, ServerMetrics } from '@image-cloud/metrics';
import type { BatchTracker, PrefetchService } from '@image-cloud/prefetch';
import type { StoreWritability } from '@image-cloud/storage';
import type { TenantDirectory, TenantRateLimiter } from '@image-cloud/tenant-auth';
import { type AuthOptions, authenticate, requireAdmin } from './http/authenticate';
import { errorHandler, notFound } from './http/error-response';
import { methodNotAllowed } from './http/method-not-allowed';
import { type SelfOrigins, refuseSelfOrigins } from './http/refuse-self-origins';
import { requestLog } from './http/request-log';
import type { HotObject } from './http/send-stored';
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
  prefetch: PrefetchService;
  batches: BatchTracker;
  metrics: ServerMetrics;
  /** Whether the image store takes writes (readiness). */
  store: StoreWritability;
  /** Every other process's metrics for /metrics (under `npm start`, gathered by the launcher). */
  otherProcessMetrics: () => Promise<ProcessMetrics[]>;
  /** Refuses new requests and answers waiting ones once the server is stopping. */
  drain: ShutdownDrain;
  /** Who may ask (shared with the lean hit route). */
  auth: AuthOptions;
  selfOrigins: SelfOrigins;
  /** Hot objects the image routes keep for the lean hit route. */
  tier: MemoryTier<HotObject>;
}

/** Authentication settings: image GETs also accept signed URLs (browsers); everything else needs a token. */
export function authOptionsOf(config: AppConfig, tenants: TenantDirectory, limiter: TenantRateLimiter, logger: Logger): AuthOptions {
  return {
    directory: tenants,
    signingKeys: config.signingKeys,
    signedUrlMaxLifetimeSeconds: config.signedUrlMaxLifetimeSeconds,
    limiter,
    logger,
    signedPaths: ['/get_image', '/get_thumbnail', '/image_info'],
  };
}

/** Every route of the ServiceServer, in order. */
export function createApp({ config, service, redis, logger, tenants, prefetch, batches, metrics, store, otherProcessMetrics, drain, auth, selfOrigins, tier }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(requestLog(logger, metrics));
  app.use(drain.middleware);
  app.use(healthRoutes(redis, store, config.queuePrefix));
  app.use(metricsRoutes(metrics, otherProcessMetrics));
  app.use(statusRoutes());
  app.use(openApiRoutes({ thumbnailSizes: config.thumbnailSizes }));
  app.use(['/get_image', '/get_thumbnail', '/image_info', '/alternative_clouds', '/fire_and_forget'], authenticate(auth));
  app.delete('/delete_image', requireAdmin(tenants));
  app.use(['/get_image', '/get_thumbnail', '/image_info'], refuseSelfOrigins(selfOrigins));
  app.use(imageRoutes(service, config, tier));
  app.use(prefetchRoutes(prefetch, batches, metrics));
  app.use(alternativeCloudsRoutes(config.peers));
  app.use(methodNotAllowed(app));
  app.use(notFound);
  app.use(errorHandler(logger, config.server.negativeCacheSeconds));
  return app;
}
