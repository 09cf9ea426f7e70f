export {
  LANES,
  LANE_SIZES,
  type Lane,
  type LaneSize,
  type LaneUrgency,
  laneOf,
  laneSize,
  laneUrgency,
  queueNameOf,
  ASYNC_PRIORITY,
  RENDER_JOB_NAME,
  RerouteToBigLane,
  WaitForOriginSlot,
} from './lanes';
export {
  OUTPUT_FORMATS,
  type OutputFormat,
  FITS,
  type Fit,
  PIPELINE_VERSION,
  MAX_DIMENSION,
  transformSchema,
  type Transform,
  canonicalTransform,
  CONTENT_TYPES,
} from './transform';
export { originalKeyOf, variantKeyOf } from './storage-keys';
export { renderJobSchema, type RenderJob, renderJobFor, resultKeyOf, renderJobIdOf } from './render-job';
