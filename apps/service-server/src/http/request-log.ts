import type { RequestHandler } from 'express';
import type { Logger } from '@image-cloud/logger';

/** One log line per request; the logger redacts tokens from the path. 499 = client went away first. */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('close', () => {
      const status = res.writableFinished ? res.statusCode : 499;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      logger.debug('request', {
        method: req.method,
        path: req.originalUrl,
        status,
        durationMs: Math.round(durationMs * 10) / 10,
        cache: res.getHeader('X-Cache'),
      });
    });
    next();
  };
}
