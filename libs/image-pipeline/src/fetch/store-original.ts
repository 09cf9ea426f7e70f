import type { OriginalMeta } from '@image-cloud/storage';
import type { FetchOutcome, FetchState } from './fetch-ports';

/** Probes the header (format, size, frames, limits) and stores the original with what it says. */
export async function storeOriginal(state: FetchState): Promise<FetchOutcome> {
  const { job, deps, downloaded } = state;
  if (!downloaded) throw new Error('storeOriginal needs a downloaded original');
  const { bytes, contentType, etag, lastModified } = downloaded;
  const probe = await deps.probe({ bytes }, deps.limits, { placeholders: job.placeholders ?? false });
  const meta = await deps.storage.putOriginal(job.originalKey, bytes, {
    url: job.url,
    contentType: probe.contentType,
    ...(contentType ? { originContentType: contentType } : {}),
    width: probe.width,
    height: probe.height,
    format: probe.format,
    frames: probe.frames,
    ...(probe.orientation ? { orientation: probe.orientation } : {}),
    hasAlpha: probe.hasAlpha,
    ...(probe.placeholders === undefined ? {} : { placeholders: probe.placeholders }),
    fetchedAt: new Date().toISOString(),
    ...(etag ? { originEtag: etag } : {}),
    ...(lastModified ? { originLastModified: lastModified } : {}),
  });
  return { kind: 'done', meta };
}

/**
 * A job asking for placeholders found the original stored without them (get_image fetched it):
 * they are computed once from the stored bytes, in the probe child, and stored with its metadata.
 */
export async function addPlaceholders(state: FetchState, stored: OriginalMeta): Promise<FetchOutcome> {
  const { job, deps } = state;
  const original = await deps.storage.readOriginal(job.originalKey);
  // Deleted meanwhile: the metadata read before is all there is to answer with.
  if (!original) return { kind: 'done', meta: stored };
  const probe = await deps.probe({ bytes: original.bytes }, deps.limits, { placeholders: true });
  const { bytes: _bytes, etag: _etag, ...meta } = original.meta;
  return { kind: 'done', meta: await deps.storage.putOriginal(job.originalKey, original.bytes, { ...meta, placeholders: probe.placeholders ?? null }) };
}
