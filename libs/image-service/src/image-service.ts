import { type RenderJob, type Transform, originalKeyOf, renderJobFor, renderJobIdOf } from '@image-cloud/contracts';
import { ImageCloudError, isNegativelyCacheable } from '@image-cloud/errors';
import { type FailureCache, type OutcomeWaiter, type RenderQueues, orUnavailable } from '@image-cloud/job-queue';
import type { OverloadGuard } from './overload-guard';
import type { ImageStorage, OriginalMeta, StoredObject, VariantMeta } from '@image-cloud/storage';

export interface ImageServiceDeps {
  storage: ImageStorage;
  queues: RenderQueues;
  waiter: OutcomeWaiter;
  failures: FailureCache;
  overload: OverloadGuard;
  /** How long a request waits for its job. */
  waitTimeoutMs: number;
}

export interface FetchOptions {
  onlySendIfLocal?: boolean;
  useAlternativeClouds?: boolean;
  /** Aborted when the client goes away: stop waiting (the job still finishes and fills the cache). */
  signal?: AbortSignal;
}

export type CacheStatus = 'HIT' | 'MISS';

export interface Served<T> {
  object: T;
  cache: CacheStatus;
}

/** Seconds a client is asked to wait when the queue is too deep to answer in time. */
const OVERLOADED_RETRY_AFTER_SECONDS = 5;

/**
 * The read path of the cloud: serve from storage when possible, otherwise put one render job in
 * the sync lane (shared with every identical request) and wait for it, bounded.
 */
export class ImageService {
  constructor(private readonly deps: ImageServiceDeps) {}

  /** The original, stored or fetched now. */
  async openOriginal(url: string, options: FetchOptions = {}): Promise<Served<StoredObject<OriginalMeta>>> {
    const job = this.jobFor(url, null, options);
    return this.obtain(job, () => this.deps.storage.openOriginal(job.originalKey), options);
  }

  /** Metadata of the original, fetching it when needed (no_image, image_info). */
  async originalMeta(url: string, options: FetchOptions = {}): Promise<Served<OriginalMeta>> {
    const job = this.jobFor(url, null, options);
    return this.obtain(job, () => this.deps.storage.getOriginalMeta(job.originalKey), options);
  }

  /** A variant, stored or rendered now. */
  async openVariant(url: string, transform: Transform, options: FetchOptions = {}): Promise<Served<StoredObject<VariantMeta>>> {
    const job = this.jobFor(url, transform, options);
    return this.obtain(job, () => this.deps.storage.openVariant(job.originalKey, job.variantKey!), options);
  }

  /** Removes the original, every variant and every remembered failure; the next request fetches again. */
  async deleteImage(url: string): Promise<number> {
    const originalKey = originalKeyOf(url);
    const removed = await this.deps.storage.deleteImage(originalKey);
    await orUnavailable(() => this.deps.failures.clearAll(originalKey));
    return removed;
  }

  /** Somebody waits for it: the sync lane, normal size first. */
  private jobFor(url: string, transform: Transform | null, options: FetchOptions): RenderJob {
    return renderJobFor(url, 'sync-normal', {
      transform,
      allowDownload: !options.onlySendIfLocal,
      useAlternativeClouds: options.useAlternativeClouds ?? false,
    });
  }

  private async obtain<T>(job: RenderJob, find: () => Promise<T | null>, options: FetchOptions): Promise<Served<T>> {
    const stored = await find();
    if (stored !== null) return { object: stored, cache: 'HIT' };

    if (options.onlySendIfLocal && !(await this.deps.storage.getOriginalMeta(job.originalKey))) {
      throw new ImageCloudError('not_cached', 'The image is not cached here (only_send_if_local).');
    }

    const jobId = renderJobIdOf(job);
    const { failures, queues, waiter } = this.deps;
    const remembered = await orUnavailable(() => failures.get(job.originalKey, jobId));
    if (remembered && isNegativelyCacheable(remembered.code)) throw remembered;
    // Any other failure is not final for the image: forget it and try again.
    if (remembered) await orUnavailable(() => failures.clear(job.originalKey, jobId));

    await this.deps.overload.check(job.lane);
    await queues.enqueue(job);
    const object = await waiter.wait({
      jobId,
      deadline: Date.now() + this.deps.waitTimeoutMs,
      findResult: find,
      findFailure: () => orUnavailable(() => failures.get(job.originalKey, jobId)),
      reassure: async () => {
        await queues.enqueue(job);
      },
      onDeadline: () => this.deadlineError(jobId),
      signal: options.signal,
    });
    return { object, cache: 'MISS' };
  }

  private async deadlineError(jobId: string): Promise<ImageCloudError> {
    const state = await this.deps.queues.jobState(jobId);
    if (state === 'waiting' || state === 'prioritized' || state === 'delayed') {
      return new ImageCloudError('overloaded', 'The image cloud is busy and could not start this image in time; try again shortly.', {
        retryAfterSeconds: OVERLOADED_RETRY_AFTER_SECONDS,
      });
    }
    return new ImageCloudError('processing_timeout', 'The image did not finish within the time this request may wait.');
  }
}
