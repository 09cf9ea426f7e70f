import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { StoredObject } from '@image-cloud/storage';
import type { CacheStatus } from '@image-cloud/image-service';

/** True when the request's If-None-Match names this ETag (or `*`). */
function notModified(req: Request, etag: string): boolean {
  const header = req.headers['if-none-match'];
  if (!header) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

export interface SendOptions {
  cache: CacheStatus;
  maxAgeSeconds: number;
  /** Lane that rendered a variant (normal or big). */
  lane?: string;
}

/**
 * Streams a stored image with its caching headers (Content-Type, Content-Length, strong ETag,
 * Cache-Control, X-Cache), or 304 when the client's copy is current. SVG is sandboxed so a
 * hostile file cannot run script on our origin.
 */
export async function sendStored(
  req: Request,
  res: Response,
  stored: StoredObject<{ contentType: string; bytes: number; etag: string }>,
  options: SendOptions,
): Promise<void> {
  const { meta, body } = stored;
  res.setHeader('ETag', meta.etag);
  res.setHeader('Cache-Control', `public, max-age=${options.maxAgeSeconds}`);
  res.setHeader('X-Cache', options.cache);
  if (options.lane) res.setHeader('X-Lane', options.lane);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (meta.contentType === 'image/svg+xml') {
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    // Shown as an image where it is embedded, never handed over as a download of unknown kind.
    res.setHeader('Content-Disposition', 'inline');
  }

  if (notModified(req, meta.etag)) {
    body.destroy();
    res.status(304).end();
    return;
  }
  res.status(200);
  res.setHeader('Content-Type', meta.contentType);
  res.setHeader('Content-Length', String(meta.bytes));
  if (req.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  if (stored.bytes) {
    body.destroy();
    res.end(stored.bytes);
    return;
  }
  await pipeline(body, res);
}
