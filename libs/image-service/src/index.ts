export { ImageService, type ImageServiceDeps, type FetchOptions, type Served, type CacheStatus } from './image-service';
export { parseGetImageRequest, parseGetThumbnailRequest, type GetImageRequest, type RequestDefaults } from './get-image-request';
export { negotiateFormat, explicitlyAccepted, formatFromAccept } from './negotiate-format';
export { urlParam, booleanParam, integerParam, stringParam, parseQuery, type RawQuery } from './query-params';
export { getImageQuerySchema, getThumbnailQuerySchema, imageUrlQuerySchema } from './query-schemas';
export { OverloadGuard } from './overload-guard';
export { readClusterState, type ClusterReading, type QueueReading } from './cluster-state';
