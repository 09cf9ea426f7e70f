export { LANES, type Lane, type LaneSize, type LaneUrgency, laneOf, laneSize, RENDER_JOB_NAME } from './lanes';
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
export { renderJobSchema, type RenderJob, resultKeyOf, renderJobIdOf } from './render-job';
