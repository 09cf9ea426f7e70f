import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import { ImageCloudError } from '@image-cloud/errors';
import { type Validators, byteRangeOf, httpDate, imageCacheControl, isNotModified } from '@image-cloud/http-caching';
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

/** Bytes `start` to `end` (inclusive) of a stream; the source is let go once `end` has passed. */
function sliceOf(start: number, end: number) {
  return async function* slice(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    let offset = 0;
    for await (const chunk of source) {
      const from = Math.max(0, start - offset);
      const to = Math.min(chunk.length, end + 1 - offset);
      if (to > from) yield chunk.subarray(from, to);
      offset += chunk.length;
      if (offset > end) return;
    }
  };
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

const SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

/**
 * A stored object as the lean hit route answers it from memory: every header of sendStored's
 * answer that does not depend on the request, as name/value pairs in sendStored's order.
 */
export interface HotObject {
  validators: Validators;
  /** ETag, Last-Modified: before Cache-Control. */
  validatorHeaders: readonly string[];
  /** X-Cache (HIT) to the SVG headers: after Cache-Control, in 200s and 304s. */
  cacheHeaders: readonly string[];
  /** Content-Type, Content-Length: in 200s only. */
  entityHeaders: readonly string[];
  /** The X-Lane value, or "none" (the request log's lane). */
  lane: string;
}

export function hotObjectOf(meta: { contentType: string; bytes: number; etag: string }, lastModified: Date, lane: string | undefined): HotObject {
  const cacheHeaders = ['X-Cache', 'HIT'];
  if (lane) cacheHeaders.push('X-Lane', lane);
  cacheHeaders.push('X-Content-Type-Options', 'nosniff', 'Accept-Ranges', 'bytes');
  if (meta.contentType === 'image/svg+xml') cacheHeaders.push('Content-Security-Policy', SVG_POLICY, 'Content-Disposition', 'inline');
  return {
    validators: { etag: meta.etag, lastModified },
    validatorHeaders: ['ETag', meta.etag, 'Last-Modified', httpDate(lastModified)],
    cacheHeaders,
    entityHeaders: ['Content-Type', meta.contentType, 'Content-Length', String(meta.bytes)],
    lane: lane ?? 'none',
  };
}

/**
 * Streams a stored image with its caching headers (Content-Type, Content-Length, strong ETag,
 * Last-Modified, Cache-Control, X-Cache), or 304 when the client's copy is current, or the one byte
 * range a GET asks for (206; CDNs fetch large objects in parts). HEAD gets the same headers as GET
 * and no body. SVG is sandboxed so a hostile file cannot run script on our origin.
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
  res.setHeader('Accept-Ranges', 'bytes');
  if (meta.contentType === 'image/svg+xml') {
    res.setHeader('Content-Security-Policy', SVG_POLICY);
    // Shown as an image where it is embedded, never handed over as a download of unknown kind.
    res.setHeader('Content-Disposition', 'inline');
  }

  const validators = { etag: meta.etag, lastModified: options.lastModified };
  const conditional = { ifNoneMatch: singleHeader(req.headers['if-none-match']), ifModifiedSince: req.headers['if-modified-since'] };
  if (isNotModified(conditional, validators)) {
    body.destroy();
    res.status(304).end();
    return;
  }
  // Range is for GET only: a HEAD describes the whole representation.
  const range = req.method === 'GET' ? byteRangeOf({ range: req.headers.range, ifRange: singleHeader(req.headers['if-range']) }, validators, meta.bytes) : null;
  if (range?.kind === 'unsatisfiable') {
    body.destroy();
    res.setHeader('Content-Range', `bytes */${meta.bytes}`);
    throw new ImageCloudError('range_not_satisfiable', `The range asked for starts past the end of the image's ${meta.bytes} bytes.`);
  }
  const part = range?.kind === 'part' ? range : null;
  res.status(part ? 206 : 200);
  res.setHeader('Content-Type', meta.contentType);
  if (part) res.setHeader('Content-Range', `bytes ${part.start}-${part.end}/${meta.bytes}`);
  res.setHeader('Content-Length', String(part ? part.end - part.start + 1 : meta.bytes));
  if (req.method === 'HEAD') {
    body.destroy();
    res.end();
    return;
  }
  if (stored.bytes) {
    body.destroy();
    res.end(part ? stored.bytes.subarray(part.start, part.end + 1) : stored.bytes);
    return;
  }
  if (part) await pipeline(body, sliceOf(part.start, part.end), res);
  else await pipeline(body, res);
}
