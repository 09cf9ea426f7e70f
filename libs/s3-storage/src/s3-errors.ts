import { ImageCloudError } from '@image-cloud/errors';

/** Seconds a client is asked to wait when the object store does not answer. */
const S3_RETRY_AFTER_SECONDS = 5;

interface S3ErrorShape {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** An S3 answer 404, thrown before the SDK reads its body (see S3ImageStorage). */
export class ObjectNotFound extends Error {
  override readonly name = 'NotFound';
  readonly $metadata = { httpStatusCode: 404 };

  constructor() {
    super('The object is not in the store (404).');
  }
}

/** Whether an S3 error says the object is not there (GetObject's NoSuchKey, HeadObject's bare 404). */
export function isNoSuchKey(error: unknown): boolean {
  const candidate = error as S3ErrorShape | null;
  return candidate?.name === 'NoSuchKey' || candidate?.name === 'NotFound' || candidate?.$metadata?.httpStatusCode === 404;
}

/**
 * Any other S3 failure — refused connection, timeout, 5xx, throttling, a wrong bucket or
 * credentials — means the image store is unavailable: 503, retryable. The message names the S3
 * error and what was being done, never the endpoint's credentials.
 */
export function storeUnavailable(doing: string, error: unknown): ImageCloudError {
  const candidate = error as S3ErrorShape | null;
  const name = candidate?.name ?? candidate?.code ?? 'Error';
  const status = candidate?.$metadata?.httpStatusCode;
  return new ImageCloudError('unavailable', `The image store (S3) failed while ${doing} (${name}${status ? ` ${status}` : ''}); try again later.`, {
    cause: error,
    retryAfterSeconds: S3_RETRY_AFTER_SECONDS,
  });
}
