import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { ImageCloudError, toImageCloudError } from '@image-cloud/errors';
import type { Logger } from '@image-cloud/logger';

/** Policy 5, overload is answered early: 503s are cacheable for at least a minute, so refreshes do not amplify overload. */
const MIN_ERROR_MAX_AGE_SECONDS = 60;

export function sendError(res: Response, error: ImageCloudError, negativeCacheSeconds: number): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const isOverload = error.status === 503;
  const maxAge = isOverload ? Math.max(MIN_ERROR_MAX_AGE_SECONDS, negativeCacheSeconds) : negativeCacheSeconds;
  const cacheable = (isOverload || error.negativelyCacheable) && maxAge > 0;
  res.status(error.status);
  // A JSON error is never sniffed into something a browser would run.
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', cacheable ? `public, max-age=${maxAge}` : 'no-store');
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  else if (error.status === 503 || error.status === 429) res.setHeader('Retry-After', '5');
  res.json(error.toBody());
}

/** Maps anything thrown in a route to the JSON error `{error, message}`; unknown errors are logged and answered 500. */
export function errorHandler(logger: Logger, negativeCacheSeconds: number): ErrorRequestHandler {
  return (thrown, req, res, _next) => {
    let error: ImageCloudError;
    const status = (thrown as { status?: number; type?: string }).status;
    if (thrown instanceof ImageCloudError) error = thrown;
    else if ((thrown as { type?: string }).type === 'entity.too.large') error = new ImageCloudError('payload_too_large', 'The request body is too large.');
    else if (status && status >= 400 && status < 500) error = new ImageCloudError('bad_parameter', 'The request is malformed.');
    else error = toImageCloudError(thrown);
    if (error.code === 'internal_error') logger.error('unhandled error', { method: req.method, path: req.originalUrl, error: thrown });
    sendError(res, error, negativeCacheSeconds);
  };
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ImageCloudError('not_found', `There is no endpoint ${req.method} ${req.path}.`));
};
