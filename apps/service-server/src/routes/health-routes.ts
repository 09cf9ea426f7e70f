import { Router } from 'express';
import type { Redis } from 'ioredis';
import { ImageCloudError } from '@image-cloud/errors';
import type { StoreWritability } from '@image-cloud/storage';

/** Seconds a probe is asked to wait before it asks again when the image store cannot be written. */
const STORE_RETRY_AFTER_SECONDS = 30;

/** Liveness (the process answers) and readiness (Redis answers, and the image store takes writes). */
export function healthRoutes(redis: Redis, store: StoreWritability): Router {
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
    // Misses need a writable store; hits do not, so the process stays alive (healthz) and serves them.
    const writable = await store.check();
    if (!writable.writable) {
      const error = new ImageCloudError('unavailable', 'The image store cannot be written (disk full or read-only); only cached images can be served.');
      res.status(error.status).setHeader('Retry-After', String(STORE_RETRY_AFTER_SECONDS)).json(error.toBody());
      return;
    }
    res.json({ status: 'ready' });
  });
  return router;
}
