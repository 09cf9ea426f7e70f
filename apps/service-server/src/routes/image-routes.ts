import { Router } from 'express';
import type { AppConfig } from '@image-cloud/config';
import { type GetImageRequest, type ImageService, parseGetImageRequest, parseGetThumbnailRequest, urlParam } from '@image-cloud/image-service';
import type { Request, Response } from 'express';
import type { OriginalMeta } from '@image-cloud/storage';
import { missesRefusedFor } from '../http/authenticate';
import { clientSignal } from '../http/client-signal';
import { notesOf } from '../http/request-log';
import { sendStored } from '../http/send-stored';

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

/** get_image, get_thumbnail, image_info and delete_image: the image endpoints of the HTTP API. */
export function imageRoutes(service: ImageService, config: AppConfig): Router {
  const router = Router();
  const maxAgeSeconds = config.server.imageMaxAgeSeconds;

  async function answer(req: Request, res: Response, request: GetImageRequest): Promise<void> {
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
      await sendStored(req, res, object, { cache, maxAgeSeconds, lastModified: new Date(object.meta.fetchedAt), versioned: request.version !== undefined });
      return;
    }
    const { object, cache, coalesced } = await service.openVariant(request.url, request.transform, options);
    notesOf(res).coalesced = coalesced;
    await sendStored(req, res, object, {
      cache,
      maxAgeSeconds,
      lastModified: new Date(object.meta.createdAt),
      versioned: request.version !== undefined,
      lane: object.meta.lane,
    });
  }

  router.get('/get_image', (req, res) => answer(req, res, parseGetImageRequest(req.query)));

  router.get('/get_thumbnail', (req, res) => answer(req, res, parseGetThumbnailRequest(req.query, config.thumbnailSizes)));

  router.get('/image_info', async (req, res) => {
    const url = urlParam(req.query);
    const { object: meta, cache, coalesced } = await service.originalMeta(url, { signal: clientSignal(res), requestId: notesOf(res).requestId, refuseMisses: missesRefusedFor(res) });
    notesOf(res).coalesced = coalesced;
    res.setHeader('X-Cache', cache);
    res.setHeader('Cache-Control', 'no-cache');
    res.json({ width: meta.width, height: meta.height, format: meta.format, bytes: meta.bytes, frames: meta.frames, contentType: meta.contentType });
  });

  router.delete('/delete_image', async (req, res) => {
    const url = urlParam(req.query);
    const removed = await service.deleteImage(url);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ url, deleted: removed > 0, objectsRemoved: removed });
  });

  return router;
}
