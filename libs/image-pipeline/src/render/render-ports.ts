import type { LaneSize, RenderJob, RerouteReason, Transform } from '@image-cloud/contracts';
import type { ImageLimits, ImageProbe, ImageSource, RenderOptions, RenderedVariant } from '@image-cloud/imaging';
import type { CostTable, LanePolicy, RenderWork } from '@image-cloud/lane-policy';
import type { ImageStorage, OriginalMeta } from '@image-cloud/storage';

/**
 * Renders a variant from the original's file; a RenderPool (killable child processes) in
 * production. Without a probe the renderer reads the header itself.
 */
export type Renderer = (source: ImageSource, probe: ImageProbe | null, transform: Transform, options: RenderOptions) => Promise<RenderedVariant>;

/** The cluster-wide render cost model (Redis in production). */
export interface RenderCostPort {
  table(): Promise<CostTable>;
  recordRender(work: RenderWork, renderMs: number): Promise<void>;
  recordOverrun(work: RenderWork, budgetMs: number): Promise<void>;
}

export interface RenderPipelineDeps {
  storage: ImageStorage;
  limits: ImageLimits;
  quality: number;
  render: Renderer;
  lanes: LanePolicy;
  costs: RenderCostPort;
}

export interface RenderRunOptions {
  /** Aborted when the worker stops the job. */
  signal?: AbortSignal;
}

/** How a render job ends, besides failing with an ImageCloudError. */
export type RenderOutcome =
  | { kind: 'done'; size: LaneSize; renderMs: number | null }
  /** The job belongs in the big lane: by its header, its predicted cost, or because it ran out of budget. */
  | { kind: 'reroute'; reason: RerouteReason };

/** State passed along the steps of one render job. */
export interface RenderState {
  job: RenderJob;
  deps: RenderPipelineDeps;
  options: RenderRunOptions;
  size: LaneSize;
  /** The lane's budget runs out at this epoch ms. */
  deadline: number;
  original?: { meta: OriginalMeta; path: string };
  work?: RenderWork;
  variant?: RenderedVariant;
  renderMs?: number;
}
