import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import type { AppConfig } from '@image-cloud/config';
import type { ImageService } from '@image-cloud/image-service';
import type { Logger } from '@image-cloud/logger';
import { errorHandler, notFound } from './http/error-response';
import { requestLog } from './http/request-log';
import { alternativeCloudsRoutes } from './routes/alternative-clouds-routes';
import { healthRoutes } from './routes/health-routes';
import { imageRoutes } from './routes/image-routes';

export interface AppDeps {
  config: AppConfig;
  service: ImageService;
  redis: Redis;
  logger: Logger;
}

/** Every route of the ServiceServer, in order. */
export function createApp({ config, service, redis, logger }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(requestLog(logger));
  app.use(healthRoutes(redis));
  app.use(imageRoutes(service, config));
  app.use(alternativeCloudsRoutes(config.peers));
  app.use(notFound);
  app.use(errorHandler(logger, config.server.negativeCacheSeconds));
  return app;
}
