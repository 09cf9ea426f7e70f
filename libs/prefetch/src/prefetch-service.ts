import { randomBytes } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { type BatchReceipt, type FetchJob, canonicalOriginUrl, fetchJobFor, fetchJobIdOf, validateOriginUrl } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { type FetchQueue, orUnavailable } from '@image-cloud/job-queue';
import type { ImageStorage } from '@image-cloud/storage';
import type { BatchTracker } from './batch-tracker';
import { OPEN_TENANT, type PrefetchBacklog } from './prefetch-backlog';
import type { PrefetchFeeder } from './prefetch-feeder';

/** URLs handled between two yields to the event loop, so a huge batch never stalls other requests. */
const CHUNK = 1_000;
/** Rejections listed one by one in the answer; beyond that only counted. */
const MAX_LISTED_REJECTIONS = 1_000;

function shorten(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** What one request and one tenant may queue (config `prefetch`). */
export interface PrefetchCaps {
  maxUrlsPerRequest: number;
  maxOutstandingPerTenant: number;
}

/**
 * fire_and_forget: validates every URL, drops duplicates (within the batch, already cached, already
 * queued), and appends the rest to the tenant's compact backlog under a batch whose progress the
 * workers keep; the feeder moves them into the fetch queue by fair share. A request over a cap is
 * refused whole (429), before anything is queued. Works through the list in chunks, yielding between them.
 */
export class PrefetchService {
  constructor(
    private readonly deps: { storage: ImageStorage; queue: FetchQueue; batches: BatchTracker; backlog: PrefetchBacklog; feeder: PrefetchFeeder; caps: PrefetchCaps },
  ) {}

  /** `placeholders`: also compute each original's layout placeholders ahead of image_info. */
  async submit(urls: unknown, tenant: string | null, options: { placeholders?: boolean } = {}): Promise<BatchReceipt> {
    const { caps } = this.deps;
    const placeholders = options.placeholders ?? false;
    if (!Array.isArray(urls)) throw new ImageCloudError('bad_parameter', 'The body must be JSON {"urls": ["http(s)://…", …]}.');
    if (urls.length === 0) throw new ImageCloudError('bad_parameter', 'The "urls" list is empty.');
    if (urls.length > caps.maxUrlsPerRequest) {
      throw new ImageCloudError(
        'rate_limited',
        `Over prefetch.maxUrlsPerRequest: the "urls" list has ${urls.length} entries; at most ${caps.maxUrlsPerRequest} are accepted per request. Nothing was queued; send smaller requests.`,
        { retryAfterSeconds: 1 },
      );
    }
    const batchId = randomBytes(12).toString('base64url');
    const receipt: BatchReceipt = { batchId, total: urls.length, accepted: 0, duplicate: 0, rejected: 0, rejections: [] };

    // Everything is checked before anything is queued, so a refused request leaves nothing behind.
    const seen = new Set<string>();
    const fresh: string[] = [];
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
        const url = canonicalOriginUrl(checked.url);
        if (seen.has(url)) {
          receipt.duplicate++;
          return;
        }
        seen.add(url);
        candidates.push(fetchJobFor(url, 'async', { batchId, placeholders }));
      });
      const unknown = await this.withoutKnown(candidates);
      receipt.duplicate += candidates.length - unknown.length;
      fresh.push(...unknown.map((job) => job.url));
      await yieldToEventLoop();
    }

    const owner = tenant ?? OPEN_TENANT;
    const refuse = (waiting: number) =>
      new ImageCloudError(
        'rate_limited',
        `Over prefetch.maxOutstandingPerTenant: ${waiting} URLs of ${tenant ? `tenant "${tenant}"` : 'this cloud'} wait to be prefetched and this request adds ${fresh.length}; at most ${caps.maxOutstandingPerTenant} may wait. Nothing was queued; retry when earlier batches have progressed.`,
        { retryAfterSeconds: 60 },
      );
    const waiting = await this.deps.backlog.waiting(owner);
    if (waiting + fresh.length > caps.maxOutstandingPerTenant) throw refuse(waiting);

    await orUnavailable(() => this.deps.batches.create(batchId, tenant, { total: urls.length, accepted: 0, duplicate: receipt.duplicate, rejected: receipt.rejected }));
    for (let start = 0; start < fresh.length; start += CHUNK) {
      // The first chunk checks the cap for the whole request, atomically; later chunks are never
      // refused, so a request is queued whole or not at all (two concurrent requests of one tenant
      // may together go over the cap by the second one's size).
      const cap = start === 0 ? { cap: caps.maxOutstandingPerTenant, requestSize: fresh.length } : null;
      const pushed = await this.deps.backlog.push(owner, batchId, fresh.slice(start, start + CHUNK), cap, placeholders);
      if (pushed.refused) throw refuse(pushed.waiting);
      receipt.accepted += pushed.added;
      receipt.duplicate += pushed.duplicates;
      await orUnavailable(() => this.deps.batches.setCounts(batchId, receipt));
      await yieldToEventLoop();
    }
    await orUnavailable(() => this.deps.batches.setCounts(batchId, receipt));
    // The workers feed too; this makes a small batch start at once. Failing here loses nothing.
    await this.deps.feeder.topUp().catch(() => undefined);
    return receipt;
  }

  /** Drops the URLs whose original is already cached or whose prefetch is already in the fetch queue. */
  private async withoutKnown(candidates: FetchJob[]): Promise<FetchJob[]> {
    const cached = await Promise.all(candidates.map((job) => this.deps.storage.getOriginalMeta(job.originalKey)));
    const uncached = candidates.filter((job, i) => cached[i] === null || (job.placeholders === true && cached[i]!.placeholders === undefined));
    const ids = uncached.map((job) => fetchJobIdOf(job));
    const queued = await this.deps.queue.existingPrefetchIds(ids);
    return uncached.filter((_, i) => !queued.has(ids[i]!));
  }
}
