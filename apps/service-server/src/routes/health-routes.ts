import { Router } from 'express';
import type { Redis } from 'ioredis';
import { ImageCloudError } from '@image-cloud/errors';
import type { StoreWritability } from '@image-cloud/storage';

/** Seconds a probe is asked to wait before it asks again when the image store cannot be written. */
const STORE_RETRY_AFTER_SECONDS = 30;

/** How long the readiness probe's key lives: it is rewritten on every probe. */
const REDIS_PROBE_TTL_MS = 10_000;

/**
 * Why Redis cannot take this server's work, or null when it can: a probe write, since a Redis at
 * maxmemory (noeviction) still answers PING and reads while it refuses every enqueue.
 */
async function redisRefusal(redis: Redis, probeKey: string): Promise<string | null> {
  try {
    await redis.set(probeKey, String(Date.now()), 'PX', REDIS_PROBE_TTL_MS);
    return null;
  } catch (error) {
    const message = (error as Error).message;
    if (/OOM|maxmemory/i.test(message)) return 'Redis is at maxmemory (OOM) and refuses writes; this server cannot queue image work.';
    return 'Redis does not answer; this server cannot take image requests.';
  }
}

/** Liveness (the process answers) and readiness (Redis takes writes, and the image store takes writes). */
export function healthRoutes(redis: Redis, store: StoreWritability, queuePrefix: string): Router {
  const probeKey = `${queuePrefix}:readyz-probe`;
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    // Probes must see the current state: never cacheable, unlike the 503s of the image routes.
    res.setHeader('Cache-Control', 'no-store');
    const refusal = await redisRefusal(redis, probeKey);
    if (refusal) {
      const error = new ImageCloudError('unavailable', refusal);
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
