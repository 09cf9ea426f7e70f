import sharp from 'sharp';

/** libvips loaders allowed on untrusted input; every other loader (matload, fits, vips, csv, …) stays blocked. */
const ALLOWED_LOADERS = [
  'VipsForeignLoadJpegBuffer',
  'VipsForeignLoadPngBuffer',
  'VipsForeignLoadWebpBuffer',
  'VipsForeignLoadNsgifBuffer',
  'VipsForeignLoadHeifBuffer',
  'VipsForeignLoadTiffBuffer',
  'VipsForeignLoadSvgBuffer',
];

export interface SharpSettings {
  /** libvips threads per image operation: the cores one job may use. @defaultValue 1 */
  threadsPerJob: number;
}

/**
 * Process-wide sharp settings for a worker. The operation cache only helps repeated identical
 * operations, which a proxy almost never sees, and costs memory.
 */
export function configureSharp(settings: SharpSettings = { threadsPerJob: 1 }): void {
  sharp.cache(false);
  sharp.concurrency(settings.threadsPerJob);
  sharp.block({ operation: ['VipsForeignLoad'] });
  sharp.unblock({ operation: ALLOWED_LOADERS });
}
