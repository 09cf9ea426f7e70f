import type { LaneSize, RerouteReason, Transform } from '@image-cloud/contracts';
import { type CostTable, predictRenderMs } from './render-cost-model';
import { type OriginalFacts, type RenderWork, renderWorkOf } from './render-work';

export interface LanePolicyOptions {
  /** Processing budget of the normal lanes, in ms. */
  normalBudgetMs: number;
  /** Processing budget of the big lanes, in ms. */
  bigBudgetMs: number;
  /** Originals with more pixels × frames start in the big lane. */
  bigLanePixels: number;
  /** Originals with more bytes start in the big lane. */
  bigLaneBytes: number;
}

/** Where a render starts, and why. */
export type LaneChoice =
  | { size: 'normal'; work: RenderWork; predictedMs: number }
  | { size: 'big'; reason: Exclude<RerouteReason, 'budget'>; work: RenderWork; predictedMs: number };

/** What a job that ran out of its lane's budget becomes; `fail` is final for the variant (negative-cached). */
export type OverBudget = { kind: 'reroute'; reason: 'budget' } | { kind: 'fail' };

/** A prediction above this share of the normal budget starts in the big lane (predictions are rough). */
const PREDICTED_SHARE_OF_BUDGET = 0.8;
/** Renders smaller than this many megapixel-frames never leave the normal lane on a prediction. */
const MIN_UNITS_TO_PREDICT_BIG = 4;

/**
 * The lane policy, in one place: which lane a render starts in, the budget of each lane, and what
 * happens when a job runs out of it.
 *
 * 1. Obvious giants start in the big lane: the header shows more pixels × frames, or the original
 *    more bytes, than the thresholds.
 * 2. So do renders the cost model predicts to take most of the normal budget (learnt cluster-wide
 *    from finished renders: ms per megapixel-frame per input and output format).
 * 3. Everything else starts in the normal lane with `normalBudgetMs`; the deadline is checked
 *    between every pipeline step, and the renderer is killed at it.
 * 4. Past its budget a normal-lane job moves to the big lane (once: it never comes back); a
 *    big-lane job fails with `processing_timeout`, final for that variant.
 */
export class LanePolicy {
  constructor(private readonly options: LanePolicyOptions) {}

  budgetMs(size: LaneSize): number {
    return size === 'big' ? this.options.bigBudgetMs : this.options.normalBudgetMs;
  }

  startLane(original: OriginalFacts, transform: Transform, costs: CostTable, now = Date.now()): LaneChoice {
    const work = renderWorkOf(original, transform);
    const predictedMs = predictRenderMs(costs, work, now);
    const { width, height, frames, bytes } = original;
    if (width * height * frames > this.options.bigLanePixels || bytes > this.options.bigLaneBytes) {
      return { size: 'big', reason: 'header', work, predictedMs };
    }
    if (work.units >= MIN_UNITS_TO_PREDICT_BIG && predictedMs > this.options.normalBudgetMs * PREDICTED_SHARE_OF_BUDGET) {
      return { size: 'big', reason: 'predicted', work, predictedMs };
    }
    return { size: 'normal', work, predictedMs };
  }

  overBudget(size: LaneSize): OverBudget {
    return size === 'normal' ? { kind: 'reroute', reason: 'budget' } : { kind: 'fail' };
  }
}
