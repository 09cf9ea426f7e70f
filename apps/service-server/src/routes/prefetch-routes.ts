import express, { Router } from 'express';
import { batchIdSchema } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { booleanParam } from '@image-cloud/image-service';
import type { ServerMetrics } from '@image-cloud/metrics';
import type { BatchTracker, PrefetchService } from '@image-cloud/prefetch';
import { missesRefusedFor } from '../http/authenticate';

/** 200 000 URLs of a few hundred bytes each. */
const MAX_BODY = '64mb';

/** `"placeholders": true` (or any spelling of a boolean the query parameters accept). */
function placeholdersOption(value: unknown): boolean {
  if (value === undefined) return false;
  return booleanParam({ placeholders: typeof value === 'boolean' || typeof value === 'number' ? String(value) : value }, 'placeholders', false);
}

/** fire_and_forget: bulk prefetch into the async lane, and the progress of a batch. */
export function prefetchRoutes(prefetch: PrefetchService, batches: BatchTracker, metrics: ServerMetrics): Router {
  const router = Router();

  router.post('/fire_and_forget', express.json({ limit: MAX_BODY }), async (req, res) => {
    const refused = missesRefusedFor(res);
    if (refused) throw refused;
    const body = req.body as { urls?: unknown; placeholders?: unknown } | undefined;
    const placeholders = placeholdersOption(body?.placeholders);
    const receipt = await prefetch.submit(body?.urls, (res.locals['tenant'] as string | undefined) ?? null, { placeholders });
    metrics.countBatch(receipt);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Location', `/fire_and_forget/${receipt.batchId}`);
    res.status(202).json(receipt);
  });

  router.get('/fire_and_forget/:batch', async (req, res) => {
    const batchId = String(req.params['batch']);
    const progress = batchIdSchema.safeParse(batchId).success ? await batches.progress(batchId) : null;
    if (!progress) throw new ImageCloudError('not_found', `There is no batch "${batchId.slice(0, 64)}" (batches are kept for a week).`);
    const tenant = res.locals['tenant'] as string | undefined;
    if (tenant && progress.tenant && progress.tenant !== tenant) throw new ImageCloudError('forbidden', 'This batch belongs to another tenant.');
    res.setHeader('Cache-Control', 'no-store');
    res.json(progress);
  });

  return router;
}
