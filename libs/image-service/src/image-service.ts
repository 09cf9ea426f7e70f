import {
  FETCH_FAILURE_FIELD,
  type LaneUrgency,
  type Transform,
  fetchJobFor,
  laneOf,
  originalKeyOf,
  renderJobFor,
  renderJobIdOf,
} from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { type FailureCache, type FetchQueue, type OutcomeWaiter, type RenderQueues, orUnavailable } from '@image-cloud/job-queue';
import type { CostTable, LanePolicy } from '@image-cloud/lane-policy';
import type { ImageStorage, OriginalMeta, StoredObject, VariantMeta } from '@image-cloud/storage';
import type { OverloadGuard } from './overload-guard';

export interface ImageServiceDeps {
  storage: ImageStorage;
  fetchQueue: FetchQueue;
  renderQueues: RenderQueues;
  waiter: OutcomeWaiter;
  failures: FailureCache;
  overload: OverloadGuard;
  lanes: LanePolicy;
  /** The cluster's render cost table (read at most once a second). */
  renderCosts: () => Promise<CostTable>;
  /** How long a request waits for its jobs, both stages together. */
  waitTimeoutMs: number;
  /** Told when a render starts in the big lane up front (header giant, or predicted over the normal budget). */
  onStartedInBigLane?: (urgency: LaneUrgency, reason: 'header' | 'predicted') => void;
}

export interface FetchOptions {
  onlySendIfLocal?: boolean;
  /** Set: anything but a hit is refused with this error (the tenant's rate limit could not be checked). */
  refuseMisses?: ImageCloudError;
  useAlternativeClouds?: boolean;
  /** Aborted when the client goes away: stop waiting (the jobs still finish and fill the cache). */
  signal?: AbortSignal;
  /** Carried in the jobs this request queues, so the workers' log lines name it. */
  requestId?: string;
}

export type CacheStatus = 'HIT' | 'MISS';

export interface Served<T> {
  object: T;
  cache: CacheStatus;
  /** A miss that joined a job another request in this process was already waiting for. */
  coalesced?: boolean;
}

/** The variant whose render proves that an original decodes (see proveDecodable). */
const DECODE_CHECK: Transform = { width: 16, height: 16, fit: 'inside', format: 'jpeg' };

/** Originals whose proof this process keeps in memory (key and ETag, a few hundred bytes each). */
const PROVEN_DECODABLE_MAX = 20_000;

/** Seconds a client is asked to wait when the queue is too deep to answer in time. */
const OVERLOADED_RETRY_AFTER_SECONDS = 5;

/**
 * The read path of the cloud: serve from storage when possible; otherwise run the two stages for
 * the request, each a job shared with every identical request, and wait for each, bounded:
 * 1. fetch (skipped when the original is stored): download, probe and store the original;
 * 2. render, in the lane the lane policy picks from the stored header and the learnt costs.
 * The waiting server chains the stages, so no worker ever waits for another stage.
 */
export class ImageService {
  /** Requests of this process waiting for each job id: a second one for the same job is coalesced. */
  private readonly waiting = new Map<string, number>();
  /** ETag of each original this process has seen proven to decode (see proveDecodable). */
  private readonly provenDecodable = new Map<string, string>();

  constructor(private readonly deps: ImageServiceDeps) {}

  /** The original, stored or fetched now; only once it is known to decode. */
  async openOriginal(url: string, options: FetchOptions = {}): Promise<Served<StoredObject<OriginalMeta>>> {
    const originalKey = originalKeyOf(url);
    const absentSince = performance.now();
    const stored = await this.deps.storage.openOriginal(originalKey);
    if (stored) {
      try {
        await this.proveDecodable(url, stored.meta.etag, options);
      } catch (error) {
        stored.body.destroy();
        throw error;
      }
      return { object: stored, cache: 'HIT' };
    }
    const { meta, coalesced } = await this.fetchOriginal(url, options, { deadline: Date.now() + this.deps.waitTimeoutMs, absentSince });
    await this.proveDecodable(url, meta.etag, options);
    return { object: await this.afterStage(() => this.deps.storage.openOriginal(originalKey)), cache: 'MISS', coalesced };
  }

  /**
   * A corrupt original is never served raw. The header probe of the fetch stage does not decode
   * pixels (a full decode per download would double the CPU of every miss), so the raw bytes go
   * out only once a render of them has succeeded: the decode-check variant, a 16-pixel JPEG, is
   * the proof, and this process remembers the bytes (by ETag) it has seen proven, so a raw hit
   * costs no extra read. When it fails the render stage removes the original and remembers
   * image_corrupt for the whole image.
   */
  private async proveDecodable(url: string, etag: string, options: FetchOptions): Promise<void> {
    const check = renderJobFor(url, 'sync-normal', DECODE_CHECK, options.requestId);
    if (this.provenDecodable.get(check.originalKey) === etag) return;
    if (!(await this.deps.storage.getVariantMeta(check.originalKey, check.variantKey))) {
      const { object } = await this.openVariant(url, DECODE_CHECK, options);
      object.body.destroy();
    }
    // Oldest first out: a Map iterates in insertion order.
    if (this.provenDecodable.size >= PROVEN_DECODABLE_MAX) this.provenDecodable.delete(this.provenDecodable.keys().next().value!);
    this.provenDecodable.set(check.originalKey, etag);
  }

  /**
   * Metadata of the original, fetching it when needed (no_image, image_info). `beforeRender`: a
   * render of it follows (format negotiation asks about alpha first), so a download is admitted as
   * that render would be, and an overloaded cloud refuses it before fetching anything.
   */
  async originalMeta(url: string, options: FetchOptions = {}, beforeRender = false): Promise<Served<OriginalMeta>> {
    const absentSince = performance.now();
    const stored = await this.deps.storage.getOriginalMeta(originalKeyOf(url));
    if (stored) return { object: stored, cache: 'HIT' };
    const { meta, coalesced } = await this.fetchOriginal(url, options, { deadline: Date.now() + this.deps.waitTimeoutMs, forRender: beforeRender, absentSince });
    return { object: meta, cache: 'MISS', coalesced };
  }

  /**
   * Metadata of the original with its layout placeholders (image_info): computed once per original
   * by a fetch job that asks for them, which downloads the original or, when it is stored without
   * them, decodes the stored bytes in the worker's probe child.
   */
  async originalWithPlaceholders(url: string, options: FetchOptions = {}): Promise<Served<OriginalMeta>> {
    const absentSince = performance.now();
    const stored = await this.deps.storage.getOriginalMeta(originalKeyOf(url));
    if (stored && stored.placeholders !== undefined) return { object: stored, cache: 'HIT' };
    const { meta, coalesced } = await this.fetchOriginal(url, options, { deadline: Date.now() + this.deps.waitTimeoutMs, placeholders: true, absentSince });
    return { object: meta, cache: 'MISS', coalesced };
  }

  /** A variant, stored or rendered now. */
  async openVariant(url: string, transform: Transform, options: FetchOptions = {}): Promise<Served<StoredObject<VariantMeta>>> {
    const { storage, failures, renderQueues, waiter } = this.deps;
    const job = renderJobFor(url, 'sync-normal', transform, options.requestId);
    const find = () => storage.openVariant(job.originalKey, job.variantKey);
    const absentSince = performance.now();
    const stored = await find();
    if (stored) return { object: stored, cache: 'HIT' };
    if (options.refuseMisses) throw options.refuseMisses;

    const jobId = renderJobIdOf(job);
    await this.forgetUnlessFinal(job.originalKey, jobId);
    const deadline = Date.now() + this.deps.waitTimeoutMs;
    const originalAbsentSince = performance.now();
    const cached = await storage.getOriginalMeta(job.originalKey);
    const fetched = cached ? null : await this.fetchOriginal(url, options, { deadline, forRender: true, absentSince: originalAbsentSince });
    const original = cached ?? fetched!.meta;

    const choice = this.deps.lanes.startLane(original, transform, await this.deps.renderCosts());
    const lanedJob = { ...job, lane: laneOf('sync', choice.size) };
    const coalesced = (fetched?.coalesced ?? false) || this.waiting.has(jobId);
    if (choice.size === 'big' && !coalesced) this.deps.onStartedInBigLane?.('sync', choice.reason);
    // Admission was checked before the download; a big-lane job has the big lane's own budget.
    if (cached && choice.size === 'normal') await this.deps.overload.check(lanedJob.lane);
    await renderQueues.ensureQueued(lanedJob);
    const object = await this.waitingFor(jobId, () => waiter.wait({
      jobId,
      deadline,
      findResult: find,
      // The look above found nothing: the waiter looks again only once the job is announced (or polls).
      absentSince,
      findFailure: () => orUnavailable(() => failures.get(job.originalKey, jobId)),
      // Idempotent and once per lane: a job that moved to the big lane is never re-added to the normal one.
      reassure: async () => {
        await renderQueues.ensureQueued(lanedJob);
      },
      onDeadline: async () => this.deadlineError(await renderQueues.jobState(jobId)),
      signal: options.signal,
    }));
    return { object, cache: 'MISS', coalesced };
  }

  /** Removes the original, every variant and every remembered failure; the next request fetches again. */
  async deleteImage(url: string): Promise<number> {
    const originalKey = originalKeyOf(url);
    // Redis first: without it the remembered failures cannot be forgotten, and deleting the files
    // anyway would answer 503 for a delete that half happened.
    await orUnavailable(() => this.deps.failures.clearAll(originalKey));
    const removed = await this.deps.storage.deleteImage(originalKey);
    // Again after: a download that failed while the files went away must not outlive the delete.
    await orUnavailable(() => this.deps.failures.clearAll(originalKey));
    return removed;
  }

  /**
   * The fetch stage for a request: one sync fetch job per original (shared by every request for
   * any size of it), waited for within `deadline`. `forRender`: the render admission check runs
   * first, so no download starts for a request that would be refused anyway. `absentSince`: when
   * the caller's own look found no result (see WaitOptions.absentSince).
   */
  private async fetchOriginal(
    url: string,
    options: FetchOptions,
    stage: { deadline: number; forRender?: boolean; placeholders?: boolean; absentSince: number },
  ): Promise<{ meta: OriginalMeta; coalesced: boolean }> {
    const { deadline, forRender = false, placeholders = false, absentSince } = stage;
    const { storage, failures, fetchQueue, waiter } = this.deps;
    const job = fetchJobFor(url, 'sync', { useAlternativeClouds: options.useAlternativeClouds ?? false, requestId: options.requestId, placeholders });
    // With placeholders, an original stored without them is not the result yet.
    const findMeta = async () => {
      const meta = await storage.getOriginalMeta(job.originalKey);
      return meta && (!placeholders || meta.placeholders !== undefined) ? meta : null;
    };
    if (options.onlySendIfLocal) throw new ImageCloudError('not_cached', 'The image is not cached here (only_send_if_local).');
    if (options.refuseMisses) throw options.refuseMisses;
    await this.forgetUnlessFinal(job.originalKey, FETCH_FAILURE_FIELD);
    if (forRender) await this.deps.overload.check('sync-normal');
    const jobId = await fetchQueue.ensureQueued(job);
    const coalesced = this.waiting.has(jobId);
    const meta = await this.waitingFor(jobId, () => waiter.wait({
      jobId,
      deadline,
      findResult: findMeta,
      absentSince,
      findFailure: () => orUnavailable(() => failures.get(job.originalKey, FETCH_FAILURE_FIELD)),
      reassure: async () => {
        await fetchQueue.ensureQueued(job);
      },
      onDeadline: async () => this.deadlineError(await fetchQueue.jobState(job)),
      signal: options.signal,
    }));
    return { meta, coalesced };
  }

  /** Runs a wait while counting it against its job id, so that later requests for the same job know they joined it. */
  private async waitingFor<T>(jobId: string, wait: () => Promise<T>): Promise<T> {
    this.waiting.set(jobId, (this.waiting.get(jobId) ?? 0) + 1);
    try {
      return await wait();
    } finally {
      const left = this.waiting.get(jobId)! - 1;
      if (left === 0) this.waiting.delete(jobId);
      else this.waiting.set(jobId, left);
    }
  }

  /** A remembered final failure (origin 404, corrupt image) is the answer; any other is forgotten and tried again. */
  private async forgetUnlessFinal(originalKey: string, field: string): Promise<void> {
    const { failures } = this.deps;
    const remembered = await orUnavailable(() => failures.get(originalKey, field));
    if (remembered?.negativelyCacheable) throw remembered;
    if (remembered) await orUnavailable(() => failures.clear(originalKey, field));
  }

  /** Reads what a finished stage stored; gone only when delete_image raced the request. */
  private async afterStage<T>(read: () => Promise<T | null>): Promise<T> {
    const value = await read();
    if (value === null) throw new ImageCloudError('unavailable', 'The image was removed while this request waited; try again.', { retryAfterSeconds: 1 });
    return value;
  }

  private deadlineError(state: string | null): ImageCloudError {
    if (state === 'waiting' || state === 'prioritized' || state === 'delayed') {
      return new ImageCloudError('overloaded', 'The image cloud is busy and could not start this image in time; try again shortly.', {
        retryAfterSeconds: OVERLOADED_RETRY_AFTER_SECONDS,
      });
    }
    return new ImageCloudError('processing_timeout', 'The image did not finish within the time this request may wait.');
  }
}
