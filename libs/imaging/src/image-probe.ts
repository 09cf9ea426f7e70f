import sharp, { type Metadata } from 'sharp';
import { CONTENT_TYPES } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import type { Placeholders } from './layout-placeholders';
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

  const frames = metadata.pages ?? 1;
  const pixels = metadata.width * metadata.height;
  if (pixels > limits.maxPixels) {
    throw new ImageCloudError(
      'image_too_large',
      `The image is ${metadata.width}x${metadata.height} = ${pixels} pixels, over the limit of ${limits.maxPixels}.`,
    );
  }
  if (frames > limits.maxFrames) {
    throw new ImageCloudError('image_too_large', `The image has ${frames} frames, over the limit of ${limits.maxFrames}.`);
  }

  return {
    format: sniffed.format,
    contentType: CONTENT_TYPE_BY_FORMAT[sniffed.format],
    width: metadata.autoOrient?.width ?? metadata.width,
    height: metadata.autoOrient?.height ?? metadata.height,
    frames,
    ...(metadata.orientation ? { orientation: metadata.orientation } : {}),
    hasAlpha: metadata.hasAlpha ?? false,
  };
}
