import sharp, { type Metadata } from 'sharp';
import { CONTENT_TYPES } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import type { Placeholders } from './layout-placeholders';
import { type HeaderFacts, readImageHeader } from './read-image-header';
import { type AcceptedFormat, sniffFormat } from './sniff-format';

export interface ImageLimits {
  /** Pixels of one frame. */
  maxPixels: number;
  maxFrames: number;
  /** Pixels × frames a rendered variant may have; unchecked when absent. */
  maxOutputPixels?: number;
  /** Bytes an encoded variant may have; unchecked when absent. */
  maxOutputBytes?: number;
}

/** What the header of an original says. Width and height are as displayed (EXIF orientation applied). */
export interface ImageProbe {
  format: AcceptedFormat;
  contentType: string;
  width: number;
  height: number;
  frames: number;
  orientation?: number;
  hasAlpha: boolean;
  /** Computed only when the probe was asked for them; null when the image could not be decoded for them. */
  placeholders?: Placeholders | null;
}

/** The output formats' types, plus the accepted inputs that are not outputs (libvips calls AVIF "heif"). */
const CONTENT_TYPE_BY_FORMAT: Record<AcceptedFormat, string> = {
  ...CONTENT_TYPES,
  heif: CONTENT_TYPES.avif,
  svg: 'image/svg+xml',
};

/**
 * Reads the header only (no pixel decode) and applies the limits that can be checked before
 * decoding: format allow-list, pixels per frame and frame count.
 */
export async function probeImage(bytes: Buffer, limits: ImageLimits): Promise<ImageProbe> {
  if (bytes.length === 0) throw new ImageCloudError('unsupported_format', 'The origin returned an empty body, not an image.');
  const sniffed = sniffFormat(bytes);
  if (!sniffed.accepted) {
    throw new ImageCloudError(
      'unsupported_format',
      sniffed.format ? `${sniffed.format} images are not supported.` : 'The origin did not return an image in a supported format.',
    );
  }

  let metadata: Metadata;
  try {
    metadata = await sharp(bytes, { limitInputPixels: false, failOn: 'none' }).metadata();
  } catch (error) {
    throw new ImageCloudError('image_corrupt', `The ${sniffed.format} image cannot be read: its header is corrupt.`, { cause: error });
  }
  if (metadata.format === 'heif' && metadata.compression && metadata.compression !== 'av1') {
    throw new ImageCloudError('unsupported_format', `HEIF images compressed with ${metadata.compression} are not supported (AVIF is).`);
  }
  if (!metadata.width || !metadata.height) {
    throw new ImageCloudError('image_corrupt', `The ${sniffed.format} image has no dimensions in its header.`);
  }

  return probeFromHeader(
    sniffed.format,
    {
      width: metadata.width,
      height: metadata.height,
      frames: metadata.pages ?? 1,
      ...(metadata.orientation ? { orientation: metadata.orientation } : {}),
      hasAlpha: metadata.hasAlpha ?? false,
    },
    limits,
  );
}

/**
 * probeImage's answer for a JPEG or PNG whose header plain JS reads with certainty (no decoder
 * runs), with the same limit errors; undefined when it is not certain and libvips must read it.
 */
export function probeHeaderInProcess(bytes: Buffer, limits: ImageLimits): ImageProbe | undefined {
  const facts = readImageHeader(bytes);
  return facts && probeFromHeader(facts.format, facts, limits);
}

/** The limits both probes apply, and the probe they build, so the two can never answer differently. */
function probeFromHeader(format: AcceptedFormat, facts: Omit<HeaderFacts, 'format'>, limits: ImageLimits): ImageProbe {
  const { width, height, frames, orientation, hasAlpha } = facts;
  const pixels = width * height;
  if (pixels > limits.maxPixels) {
    throw new ImageCloudError('image_too_large', `The image is ${width}x${height} = ${pixels} pixels, over the limit of ${limits.maxPixels}.`);
  }
  if (frames > limits.maxFrames) {
    throw new ImageCloudError('image_too_large', `The image has ${frames} frames, over the limit of ${limits.maxFrames}.`);
  }
  // EXIF orientations 5–8 turn the image a quarter: it displays with its sides swapped.
  const turned = orientation !== undefined && orientation >= 5;
  return {
    format,
    contentType: CONTENT_TYPE_BY_FORMAT[format],
    width: turned ? height : width,
    height: turned ? width : height,
    frames,
    ...(orientation ? { orientation } : {}),
    hasAlpha,
  };
}
