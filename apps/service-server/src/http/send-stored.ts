import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import { httpDate, imageCacheControl, isNotModified } from '@image-cloud/http-caching';
import type { StoredObject } from '@image-cloud/storage';
import type { CacheStatus } from '@image-cloud/image-service';
import { cacheScopeOf } from './cache-scope';

export interface SendOptions {
  cache: CacheStatus;
  maxAgeSeconds: number;
  /** When the stored bytes were made (an original's download, a variant's render): `Last-Modified`. */
  lastModified: Date;
  /** The URL carries a version (`v=`) the page changes when it wants other bytes. */
  versioned: boolean;
  /** Lane that rendered a variant (normal or big). */
  lane?: string;
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Streams a stored image with its caching headers (Content-Type, Content-Length, strong ETag,
 * Last-Modified, Cache-Control, X-Cache), or 304 when the client's copy is current. HEAD gets the
 * same headers and no body. SVG is sandboxed so a hostile file cannot run script on our origin.
 */
export async function sendStored(
  req: Request,
  res: Response,
  stored: StoredObject<{ contentType: string; bytes: number; etag: string }>,
  options: SendOptions,
): Promise<void> {
  const { meta, body } = stored;
  res.setHeader('ETag', meta.etag);
  res.setHeader('Last-Modified', httpDate(options.lastModified));
  res.setHeader('Cache-Control', imageCacheControl({ ...cacheScopeOf(res), versioned: options.versioned, maxAgeSeconds: options.maxAgeSeconds }));
  res.setHeader('X-Cache', options.cache);
  if (options.lane) res.setHeader('X-Lane', options.lane);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (meta.contentType === 'image/svg+xml') {
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    // Shown as an image where it is embedded, never handed over as a download of unknown kind.
    res.setHeader('Content-Disposition', 'inline');
  }

  const conditional = { ifNoneMatch: singleHeader(req.headers['if-none-match']), ifModifiedSince: req.headers['if-modified-since'] };
  if (isNotModified(conditional, { etag: meta.etag, lastModified: options.lastModified })) {
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
