import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { ImageCloudError, toImageCloudError } from '@image-cloud/errors';
import { errorCacheControl } from '@image-cloud/http-caching';
import type { Logger } from '@image-cloud/logger';
import { cacheScopeOf } from './cache-scope';
import { notesOf } from './request-log';

/** `cacheControl` replaces the answer's usual Cache-Control (policy 5's minute for a 503, …) when given. */
export function sendError(res: Response, error: ImageCloudError, negativeCacheSeconds: number, cacheControl?: string): void {
  notesOf(res).errorCode = error.code;
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  res.status(error.status);
  // An image's validators may be set already when reading its bytes failed; they are not this answer's.
  for (const header of ['ETag', 'Last-Modified', 'Content-Disposition']) res.removeHeader(header);
  // A JSON error is never sniffed into something a browser would run.
  res.setHeader('X-Content-Type-Options', 'nosniff');
  const cacheable = { status: error.status, negativelyCacheable: error.negativelyCacheable, negativeCacheSeconds };
  res.setHeader('Cache-Control', cacheControl ?? errorCacheControl({ ...cacheScopeOf(res), ...cacheable }));
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  else if (error.status === 503 || error.status === 429) res.setHeader('Retry-After', '5');
  res.json(error.toBody());
}

/** Maps anything thrown in a route to the JSON error `{error, message}`; unknown errors are logged and answered 500. */
export function errorHandler(logger: Logger, negativeCacheSeconds: number): ErrorRequestHandler {
  return (thrown, req, res, _next) => {
    // Answered already (a stopping server answers its waiting clients itself): whatever the route
    // finished with afterwards must not cut the connection that answer is still leaving on.
    if (res.writableEnded) {
      logger.debug('error after the answer was sent', { requestId: notesOf(res).requestId, path: req.originalUrl, reason: (thrown as Error)?.message });
      return;
    }
    // The client hung up (mid-stream, or while waiting): nobody to answer, and not our error.
    // The request's log line says 499.
    if (req.socket.destroyed || res.destroyed) {
      logger.debug('client went away', { requestId: notesOf(res).requestId, path: req.originalUrl, reason: (thrown as Error)?.message });
      res.destroy();
      return;
    }
    let error: ImageCloudError;
    const status = (thrown as { status?: number; type?: string }).status;
    if (thrown instanceof ImageCloudError) error = thrown;
    else if ((thrown as { type?: string }).type === 'entity.too.large') error = new ImageCloudError('payload_too_large', 'The request body is too large.');
    else if (status && status >= 400 && status < 500) error = new ImageCloudError('bad_parameter', 'The request is malformed.');
    else error = toImageCloudError(thrown);
    if (error.code === 'internal_error') logger.error('unhandled error', { requestId: notesOf(res).requestId, method: req.method, path: req.originalUrl, error: thrown });
    // An operator must see a full or read-only disk at the default log level, with its cause.
    if (error.code === 'insufficient_storage') logger.error('image store cannot be written', { requestId: notesOf(res).requestId, path: req.originalUrl, reason: error.message });
    sendError(res, error, negativeCacheSeconds);
  };
}

/** Reached when no route answered and no route knows the path (methodNotAllowed answered those). */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new ImageCloudError('not_found', `There is no endpoint ${req.method} ${req.path}.`));
};
