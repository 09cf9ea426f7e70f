export { type ConditionalHeaders, type Validators, httpDate, isNotModified } from './conditional-request';
export { IMMUTABLE_MAX_AGE_SECONDS, MIN_OVERLOAD_MAX_AGE_SECONDS, type RequestScope, errorCacheControl, imageCacheControl } from './cache-control';
export { type RangeAnswer, type RangeHeaders, byteRangeOf } from './byte-range';
