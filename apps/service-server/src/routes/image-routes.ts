import { Router } from 'express';
import type { AppConfig } from '@image-cloud/config';
import { type Transform, originalKeyOf, variantKeyOf, withEffectiveQuality } from '@image-cloud/contracts';
import {
  type GetImageRequest,
  type ImageService,
  type RequestDefaults,
  negotiateFormat,
  parseGetImageRequest,
  parseGetThumbnailRequest,
  urlParam,
} from '@image-cloud/image-service';
import type { Request, Response } from 'express';
import type { MemoryTier } from '@image-cloud/memory-tier';
import type { OriginalMeta, StoredObject } from '@image-cloud/storage';
import { cacheScopeOf } from '../http/cache-scope';
import { missesRefusedFor } from '../http/authenticate';
import { clientSignal } from '../http/client-signal';
import { notesOf } from '../http/request-log';
import { ORIGINAL_LEAF } from '../http/hit-requests';
import { type HotObject, hotObjectOf, sendStored } from '../http/send-stored';

function originalInfo(meta: OriginalMeta) {
  return {
    url: meta.url,
    width: meta.width,
    height: meta.height,
    format: meta.format,
    contentType: meta.contentType,
    bytes: meta.bytes,
    frames: meta.frames,
    ...(meta.orientation ? { orientation: meta.orientation } : {}),
    fetchedAt: meta.fetchedAt,
    etag: meta.etag,
  };
}

/**
 * image_info: what a page needs to lay an image out before it loads. width/height are as displayed
 * (EXIF orientation applied), as they always were; displayWidth/displayHeight say so explicitly for
 * layout code, and the placeholders are there once they could be computed.
 */
function layoutInfo(meta: OriginalMeta) {
  return {
    width: meta.width,
    height: meta.height,
    displayWidth: meta.width,
    displayHeight: meta.height,
    ...(meta.orientation ? { orientation: meta.orientation } : {}),
    format: meta.format,
    bytes: meta.bytes,
    frames: meta.frames,
    contentType: meta.contentType,
    hasAlpha: meta.hasAlpha ?? false,
    ...(meta.placeholders ? { dominantColor: meta.placeholders.dominantColor, thumbHash: meta.placeholders.thumbHash } : {}),
  };
}

/**
 * get_image, get_thumbnail, image_info and delete_image: the image endpoints of the HTTP API.
 * What they serve of a small stored object (a hit, or the object a miss made) goes into the memory
 * tier, from which the lean hit route answers the next requests for it.
 */
export function imageRoutes(service: ImageService, config: AppConfig, tier: MemoryTier<HotObject>): Router {
  const router = Router();
  const maxAgeSeconds = config.server.imageMaxAgeSeconds;

  /** Keeps a served object in the tier, unless an invalidation since `ticket` (taken before its read) may have made it stale. */
  function keep(ticket: number, url: string, transform: Transform | null, stored: StoredObject<{ contentType: string; bytes: number; etag: string }>, lastModified: Date, lane?: string): void {
    if (stored.bytes === undefined || !tier.accepts(stored.bytes.length)) return;
    const leaf = transform === null ? ORIGINAL_LEAF : variantKeyOf(url, transform);
    tier.fill(ticket, originalKeyOf(url), leaf, stored.bytes, hotObjectOf(stored.meta, lastModified, lane));
  }

  /** A signed URL (a browser's) without a format negotiates it when server.signedUrlFormat is auto. */
  function defaultsOf(res: Response): RequestDefaults {
    return { format: cacheScopeOf(res).signedUntil !== undefined ? config.server.signedUrlFormat : 'jpeg' };
  }

  async function answer(req: Request, res: Response, request: GetImageRequest): Promise<void> {
    const ticket = tier.fillTicket();
    const options = {
      onlySendIfLocal: request.onlySendIfLocal,
      useAlternativeClouds: request.useAlternativeClouds,
      signal: clientSignal(res),
      requestId: notesOf(res).requestId,
      refuseMisses: missesRefusedFor(res),
    };
    if (request.noImage) {
      const { object: meta, cache, coalesced } = await service.originalMeta(request.url, options);
      notesOf(res).coalesced = coalesced;
      res.setHeader('X-Cache', cache);
      res.setHeader('Cache-Control', 'no-cache');
      res.json(originalInfo(meta));
      return;
    }
    if (!request.transform) {
      const { object, cache, coalesced } = await service.openOriginal(request.url, options);
      notesOf(res).coalesced = coalesced;
      const lastModified = new Date(object.meta.fetchedAt);
      keep(ticket, request.url, null, object, lastModified);
      await sendStored(req, res, object, { cache, maxAgeSeconds, lastModified, versioned: request.version !== undefined });
      return;
    }
    let transform = request.transform;
    if (request.negotiateFormat) {
      // Set before anything can answer, so 304s, HEADs and errors of a negotiated URL carry it too.
      res.setHeader('Vary', 'Accept');
      const format = await negotiateFormat(req.headers.accept, async () => (await service.originalMeta(request.url, options, true)).object.hasAlpha ?? false);
      transform = { ...transform, format };
    }
    // The negotiated format and only an effective quality go into the variant key.
    transform = withEffectiveQuality(transform, config.worker.quality);
    const { object, cache, coalesced } = await service.openVariant(request.url, transform, options);
    notesOf(res).coalesced = coalesced;
    const lastModified = new Date(object.meta.createdAt);
    keep(ticket, request.url, transform, object, lastModified, object.meta.lane);
    await sendStored(req, res, object, {
      cache,
      maxAgeSeconds,
      lastModified,
      versioned: request.version !== undefined,
      lane: object.meta.lane,
    });
  }

  router.get('/get_image', (req, res) => answer(req, res, parseGetImageRequest(req.query, defaultsOf(res))));

  router.get('/get_thumbnail', (req, res) => answer(req, res, parseGetThumbnailRequest(req.query, config.thumbnailSizes, defaultsOf(res))));

  router.get('/image_info', async (req, res) => {
    const url = urlParam(req.query);
    const { object: meta, cache, coalesced } = await service.originalWithPlaceholders(url, {
      signal: clientSignal(res),
      requestId: notesOf(res).requestId,
      refuseMisses: missesRefusedFor(res),
    });
    notesOf(res).coalesced = coalesced;
    res.setHeader('X-Cache', cache);
    res.setHeader('Cache-Control', 'no-cache');
    res.json(layoutInfo(meta));
  });

  router.delete('/delete_image', async (req, res) => {
    const url = urlParam(req.query);
    const removed = await service.deleteImage(url);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ url, deleted: removed > 0, objectsRemoved: removed });
  });

  return router;
}
