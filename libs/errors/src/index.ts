export { ERROR_CODES, type ErrorCode, isErrorCode, isNegativelyCacheable } from './error-codes';
export {
  ImageCloudError,
  type ImageCloudErrorOptions,
  type ErrorBody,
  type SerializedError,
  toImageCloudError,
} from './image-cloud-error';
