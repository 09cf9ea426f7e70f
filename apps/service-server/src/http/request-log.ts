import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import { requestIdSchema } from '@image-cloud/contracts';
import type { Logger } from '@image-cloud/logger';
import type { CacheResult, ServerMetrics } from '@image-cloud/metrics';
import { routeLabel } from './route-label';

/** Status logged and counted for a request whose client went away before the answer was sent (nginx's convention). */
export const CLIENT_CLOSED = 499;

/** What the routes leave in res.locals for the request's log line and metrics. */
export interface RequestNotes {
  /** The request's id (X-Request-Id): in its log line, its answer and the jobs it queues. */
  requestId: string;
  /** The error code of an error answer (set by the error handler). */
  errorCode?: string;
  /** A miss that joined a job another request was already waiting for. */
  coalesced?: boolean;
}

export function notesOf(res: Response): RequestNotes {
  return res.locals as RequestNotes;
}

/** The caller's X-Request-Id when it is a plausible id (so a request can be followed across systems), else a new one. */
export function requestIdFrom(given: string | string[] | undefined): string {
  return typeof given === 'string' && requestIdSchema.safeParse(given).success ? given : randomUUID();
}

/** What one request's log line and metrics say. */
export interface RequestRecord {
  requestId: string;
  method: string | undefined;
  /** The route template (routeLabel). */
  route: string;
  /** The request's path and query (the logger redacts tokens in it). */
  path: string;
  status: number;
  code: string | undefined;
  cache: CacheResult;
  lane: string;
  seconds: number;
}

/** Logs and counts one ended request; the express chain and the lean hit route both end here. */
export function recordRequest(logger: Logger, metrics: ServerMetrics, record: RequestRecord): void {
  const { requestId, method, route, path, status, code, cache, lane, seconds } = record;
  metrics.observeRequest({ route, status, code, cache, lane, seconds });
  if (code === 'rate_limited') metrics.countTenantRateLimited();
  logger.info('request', {
    requestId,
    method,
    route,
    path,
    status,
    ...(code ? { code } : {}),
    cache,
    lane,
    ms: Math.round(seconds * 10_000) / 10,
  });
}

function cacheResultOf(res: Response): CacheResult {
  const header = res.getHeader('X-Cache');
  if (header === 'HIT') return 'hit';
  if (header === 'MISS') return notesOf(res).coalesced ? 'coalesced' : 'miss';
  return 'none';
}

/**
 * One info line and one set of metrics per request, when it ends: route template, status, error
 * code, cache result, lane and duration. The logger redacts tokens from the path. A client that
 * went away first is logged and counted as 499, never as an error.
 */
export function requestLog(logger: Logger, metrics: ServerMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    notesOf(res).requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    res.on('close', () => {
      recordRequest(logger, metrics, {
        requestId,
        method: req.method,
        route: routeLabel(req.path),
        path: req.originalUrl,
        status: res.writableFinished ? res.statusCode : CLIENT_CLOSED,
        code: notesOf(res).errorCode,
        cache: cacheResultOf(res),
        lane: (res.getHeader('X-Lane') as string | undefined) ?? 'none',
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      });
    });
    next();
  };
}
