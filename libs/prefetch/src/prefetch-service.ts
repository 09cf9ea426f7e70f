import { randomBytes } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { type BatchReceipt, type FetchJob, fetchJobFor, fetchJobIdOf, validateOriginUrl } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { type FetchQueue, orUnavailable } from '@image-cloud/job-queue';
import type { ImageStorage } from '@image-cloud/storage';
import type { BatchTracker } from './batch-tracker';

/** Most URLs one fire_and_forget request may carry. */
export const MAX_BATCH_URLS = 200_000;
/** URLs handled between two yields to the event loop, so a huge batch never stalls other requests. */
const CHUNK = 1_000;
/** Rejections listed one by one in the answer; beyond that only counted. */
const MAX_LISTED_REJECTIONS = 1_000;

function shorten(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * fire_and_forget: validates every URL, drops duplicates (within the batch, already cached, already
 * queued), and enqueues the rest in bulk to the fetch stage as prefetches under a batch whose progress the
 * workers keep. Works through the list in chunks, yielding between them.
 */
export class PrefetchService {
  constructor(
    private readonly deps: { storage: ImageStorage; queue: FetchQueue; batches: BatchTracker },
  ) {}

  /** `placeholders`: also compute each original's layout placeholders ahead of image_info. */
  async submit(urls: unknown, tenant: string | null, options: { placeholders?: boolean } = {}): Promise<BatchReceipt> {
    if (!Array.isArray(urls)) throw new ImageCloudError('bad_parameter', 'The body must be JSON {"urls": ["http(s)://…", …]}.');
    if (urls.length === 0) throw new ImageCloudError('bad_parameter', 'The "urls" list is empty.');
    if (urls.length > MAX_BATCH_URLS) {
      throw new ImageCloudError('bad_parameter', `The "urls" list has ${urls.length} entries; at most ${MAX_BATCH_URLS} are accepted per request.`);
    }
    const batchId = randomBytes(12).toString('base64url');
    const receipt: BatchReceipt = { batchId, total: urls.length, accepted: 0, duplicate: 0, rejected: 0, rejections: [] };
    await orUnavailable(() => this.deps.batches.create(batchId, tenant, { total: urls.length, accepted: 0, duplicate: 0, rejected: 0 }));

    const seen = new Set<string>();
    for (let start = 0; start < urls.length; start += CHUNK) {
      const candidates: FetchJob[] = [];
      urls.slice(start, start + CHUNK).forEach((value, offset) => {
        const index = start + offset;
        const checked = typeof value === 'string' ? validateOriginUrl(value) : { ok: false as const, reason: 'not a string' };
        if (!checked.ok) {
          receipt.rejected++;
          if (receipt.rejections.length < MAX_LISTED_REJECTIONS) receipt.rejections.push({ index, url: shorten(value), reason: checked.reason });
          return;
        }
        if (seen.has(checked.url)) {
          receipt.duplicate++;
          return;
        }
        seen.add(checked.url);
        candidates.push(fetchJobFor(checked.url, 'async', { batchId, placeholders: options.placeholders ?? false }));
      });
      const fresh = await this.withoutKnown(candidates);
      receipt.duplicate += candidates.length - fresh.length;
      if (fresh.length > 0) await this.deps.queue.enqueueBulk(fresh, { fairShareKey: tenant ?? 'open' });
      receipt.accepted += fresh.length;
      await orUnavailable(() => this.deps.batches.setCounts(batchId, receipt));
      await yieldToEventLoop();
    }
    return receipt;
  }

  /** Drops the URLs whose original is already cached or whose prefetch is already queued. */
  private async withoutKnown(candidates: FetchJob[]): Promise<FetchJob[]> {
    const cached = await Promise.all(candidates.map((job) => this.deps.storage.getOriginalMeta(job.originalKey)));
    const uncached = candidates.filter((job, i) => cached[i] === null || (job.placeholders === true && cached[i]!.placeholders === undefined));
    const ids = uncached.map((job) => fetchJobIdOf(job));
    const queued = await this.deps.queue.existingPrefetchIds(ids);
    return uncached.filter((_, i) => !queued.has(ids[i]!));
  }
}
