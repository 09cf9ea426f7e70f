import type { Lane, LaneUrgency, RenderJob, Transform } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import type { ImageLimits, ImageProbe, RenderOptions, RenderedVariant } from '@image-cloud/imaging';
import type { ImageStorage, OriginalMeta } from '@image-cloud/storage';

/** Downloads an original; the origin fetcher and the peer fetcher both fit. */
export interface OriginalSource {
  fetch(url: string, options?: { signal?: AbortSignal }): Promise<{ bytes: Buffer; contentType?: string; etag?: string; lastModified?: string }>;
}

/** Cluster-wide "one download per original" leases (Redis in production). */
export interface DownloadLeases {
  tryAcquire(originalKey: string): Promise<{ release(): Promise<void> } | null>;
  isHeld(originalKey: string): Promise<boolean>;
}

/** A held download slot of an origin domain. */
export interface OriginSlot {
  /** `originAnswered`: the download succeeded, which ends a run of 429/503 answers. */
  release(originAnswered?: boolean): Promise<void>;
  /** The origin answered 429/503: no downloads from its domain for a while. */
  backOff(retryAfterSeconds?: number): Promise<number>;
}

/** Cluster-wide caps on parallel downloads per origin domain (Redis leases in production). */
export interface OriginSlots {
  tryAcquire(
    url: string,
    waiter: { urgency: LaneUrgency; id: string },
  ): Promise<
    { slot: OriginSlot } | { slot?: undefined; reason: 'saturated' | 'rate' | 'backoff'; waitMs: number; pool: string; cap: number; perSecond?: number }
  >;
}

/** Renders a variant; a RenderPool (killable child processes) in production. */
export type Renderer = (bytes: Buffer, probe: ImageProbe, transform: Transform, options: RenderOptions) => Promise<RenderedVariant>;

/** Originals over either threshold go straight to the big lane, without burning the normal budget first. */
export interface BigLaneThresholds {
  /** Width × height × frames. */
  pixels: number;
  bytes: number;
}

export interface RenderPipelineDeps {
  storage: ImageStorage;
  origin: OriginalSource;
  /** Peer image clouds asked first when a job says use_alternative_clouds. */
  peers: { url: string; source: OriginalSource }[];
  leases: DownloadLeases;
  limits: ImageLimits;
  quality: number;
  render: Renderer;
  bigLane: BigLaneThresholds;
  /** How long to wait for another worker's download of the same original. @defaultValue 20000 */
  downloadWaitMs?: number;
  /** Per-domain download caps; without them downloads are not capped. */
  originSlots?: OriginSlots;
  /** How long a sync job waits for a slot of a saturated domain. @defaultValue 30000 */
  originSlotWaitMs?: number;
}

export interface RunOptions {
  /** Processing budget of the lane, in ms. */
  budgetMs: number;
  lane: Lane;
  signal?: AbortSignal;
  /** Names the job when it waits for a download slot, so a freed slot can wake it. @defaultValue a random id */
  waiterId?: string;
}

/** State passed along the steps of one job. */
export interface PipelineState {
  job: RenderJob;
  deps: RenderPipelineDeps;
  options: RunOptions;
  original?: { meta: OriginalMeta; bytes: Buffer; probe?: ImageProbe };
  /** True once the job's result is in storage. */
  done: boolean;
  /** Set when the processing budget starts (after the original is available). */
  deadline?: number;
}

export function checkDeadline(state: PipelineState, step: string): void {
  if (state.options.signal?.aborted) {
    throw new ImageCloudError('processing_timeout', `Processing was stopped before ${step}.`);
  }
  if (state.deadline !== undefined && Date.now() > state.deadline) {
    throw new ImageCloudError('processing_timeout', `Processing ran over its ${state.options.budgetMs} ms budget before ${step}.`);
  }
}
