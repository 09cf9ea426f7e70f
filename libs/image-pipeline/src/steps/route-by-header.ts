import { RerouteToBigLane, laneSize } from '@image-cloud/contracts';
import type { PipelineState } from '../pipeline-context';

/**
 * Obvious giants leave the normal lane before any processing: the header already tells their
 * pixels × frames, and the stored size their bytes.
 */
export function routeByHeader(state: PipelineState): void {
  const { deps, original, options } = state;
  if (!original || laneSize(options.lane) !== 'normal') return;
  const { width, height, frames, bytes } = original.meta;
  if (width * height * frames > deps.bigLane.pixels || bytes > deps.bigLane.bytes) {
    throw new RerouteToBigLane('header');
  }
}
