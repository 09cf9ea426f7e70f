import { Router } from 'express';
import { type ProcessMetrics, type ServerMetrics, scrapeText } from '@image-cloud/metrics';

/**
 * GET /metrics in Prometheus's text format: this server's metrics, plus every other process's
 * when `otherProcesses` gathers them (under `npm start`, from the launcher). Not behind tenant
 * auth (Prometheus has no token), never cacheable.
 */
export function metricsRoutes(metrics: ServerMetrics, otherProcesses: () => Promise<ProcessMetrics[]>): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    const { contentType, body } = await scrapeText(metrics.registry, await otherProcesses());
    res.setHeader('Cache-Control', 'no-store');
    // Written as it is: res.send would add its own charset to prom-client's content type.
    res.setHeader('Content-Type', contentType);
    res.end(body);
  });
  return router;
}
