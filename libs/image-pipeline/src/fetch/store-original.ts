import type { FetchOutcome, FetchState } from './fetch-ports';

/** Probes the header (format, size, frames, limits) and stores the original with what it says. */
export async function storeOriginal(state: FetchState): Promise<FetchOutcome> {
  const { job, deps, downloaded } = state;
  if (!downloaded) throw new Error('storeOriginal needs a downloaded original');
  const { bytes, contentType, etag, lastModified } = downloaded;
  const probe = await deps.probe({ bytes }, deps.limits);
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
    fetchedAt: new Date().toISOString(),
    ...(etag ? { originEtag: etag } : {}),
    ...(lastModified ? { originLastModified: lastModified } : {}),
  });
  return { kind: 'done', meta };
}
