import { Router } from 'express';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from '@image-cloud/metrics';

/** GET /status: the live page of the single-machine cloud, fed by /metrics (like /metrics, no token needed). */
export function statusRoutes(): Router {
  const router = Router();
  router.get('/status', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', STATUS_PAGE_CSP);
    res.type('html').send(STATUS_PAGE_HTML);
  });
  return router;
}
