import { Router } from 'express';
import type { Redis } from 'ioredis';
import { ImageCloudError } from '@image-cloud/errors';

/** Liveness (the process answers) and readiness (Redis answers too). */
export function healthRoutes(redis: Redis): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    try {
      await redis.ping();
    } catch (error) {
      throw new ImageCloudError('unavailable', 'Redis does not answer; this server cannot take image requests.', { cause: error, retryAfterSeconds: 5 });
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ready' });
  });
  return router;
}
