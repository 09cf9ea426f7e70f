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
    // Probes must see the current state: never cacheable, unlike the 503s of the image routes.
    res.setHeader('Cache-Control', 'no-store');
    try {
      await redis.ping();
    } catch {
      const error = new ImageCloudError('unavailable', 'Redis does not answer; this server cannot take image requests.');
      res.status(error.status).setHeader('Retry-After', '5').json(error.toBody());
      return;
    }
    res.json({ status: 'ready' });
  });
  return router;
}
