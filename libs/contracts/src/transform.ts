import { z } from 'zod';

export const OUTPUT_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'gif', 'tiff', 'bmp'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/**
 * How the image fills the requested box.
 * - `inside`: fit inside the box keeping the aspect ratio, never enlarged (keep_aspect_ratio=true)
 * - `fill`: exactly the box, stretched (keep_aspect_ratio=false)
 * - `pad`: fitted inside, never enlarged, centred on a white canvas of exactly the box (force_to_size)
 */
export const FITS = ['inside', 'fill', 'pad'] as const;
export type Fit = (typeof FITS)[number];

/** Bumped whenever rendering changes output for the same parameters, so old variants are not served. */
export const PIPELINE_VERSION = 1;

export const MAX_DIMENSION = 10_000;

/** Output formats whose encoder takes a quality; for the others a quality changes nothing. */
export const LOSSY_FORMATS: readonly OutputFormat[] = ['jpeg', 'webp', 'avif'];

/** True when `format` is encoded with a quality setting (jpeg, webp, avif). */
export function takesQuality(format: OutputFormat): boolean {
  return LOSSY_FORMATS.includes(format);
}

export const transformSchema = z
  .object({
    width: z.number().int().min(1).max(MAX_DIMENSION).optional(),
    height: z.number().int().min(1).max(MAX_DIMENSION).optional(),
    fit: z.enum(FITS),
    format: z.enum(OUTPUT_FORMATS),
    /** Encoder quality asked for by the client; absent means the format's default (see takesQuality). */
    quality: z.number().int().min(1).max(100).optional(),
  })
  .strict()
  .refine((t) => t.width !== undefined || t.height !== undefined, 'a transform needs a width or a height');

export type Transform = z.infer<typeof transformSchema>;

/**
 * The encoder quality a format gets when the client asks for none: the configured one, and for
 * AVIF 30 less (AVIF reaches JPEG's look at a much lower quality number).
 */
export function defaultQualityOf(format: OutputFormat, configured: number): number {
  return format === 'avif' ? Math.max(1, configured - 30) : configured;
}

/**
 * The transform with a quality only where it changes the output: not for a lossless format, not
 * when it is the format's default. Equal outputs then share one variant key (and one cache entry).
 */
export function withEffectiveQuality(transform: Transform, configuredQuality: number): Transform {
  const { quality, ...rest } = transform;
  if (quality === undefined || !takesQuality(transform.format) || quality === defaultQualityOf(transform.format, configuredQuality)) return rest;
  return { ...rest, quality };
}

/** A stable text form of a transform: equal transforms give equal strings, whatever the key order. */
export function canonicalTransform(transform: Transform): string {
  return [
    `v${PIPELINE_VERSION}`,
    `w=${transform.width ?? ''}`,
    `h=${transform.height ?? ''}`,
    `fit=${transform.fit}`,
    `f=${transform.format}`,
    // Only when asked for, so the keys of every variant rendered before quality existed stay valid.
    ...(transform.quality === undefined ? [] : [`q=${transform.quality}`]),
  ].join(',');
}

export const CONTENT_TYPES: Record<OutputFormat, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  avif: 'image/avif',
  gif: 'image/gif',
  tiff: 'image/tiff',
  bmp: 'image/bmp',
};
