export {
  LANES,
  LANE_SIZES,
  URGENCIES,
  type Lane,
  type LaneSize,
  type LaneUrgency,
  type RerouteReason,
  laneOf,
  laneSize,
  laneUrgency,
  queueNameOf,
  fetchQueueNameOf,
  ASYNC_PRIORITY,
  RENDER_JOB_NAME,
  FETCH_JOB_NAME,
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
  takesQuality,
  defaultQualityOf,
  withEffectiveQuality,
} from './transform';
export { targetSize, type TargetSize } from './target-size';
export { originalKeyOf, variantKeyOf } from './storage-keys';
export { renderJobSchema, type RenderJob, renderJobFor, renderJobIdOf } from './render-job';
export { fetchJobSchema, type FetchJob, fetchJobFor, fetchJobIdOf, FETCH_FAILURE_FIELD } from './fetch-job';
export { MAX_URL_LENGTH, type OriginUrlCheck, canonicalOriginUrl, validateOriginUrl, isHttpUrl, originUrlSchema, cloudBaseUrl, peerImageUrl } from './origin-url';
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
export { requestIdSchema } from './request-id';
