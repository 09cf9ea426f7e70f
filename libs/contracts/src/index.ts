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
export { MAX_URL_LENGTH, type OriginUrlCheck, validateOriginUrl, isHttpUrl, originUrlSchema, cloudBaseUrl, peerImageUrl } from './origin-url';
export {
  batchIdSchema,
  batchCountsSchema,
  rejectionSchema,
  batchReceiptSchema,
  batchProgressSchema,
  type BatchCounts,
  type Rejection,
  type BatchReceipt,
  type BatchProgress,
} from './batch';
