import sharp, { type Sharp } from 'sharp';
import { CONTENT_TYPES, type OutputFormat, type Transform, defaultQualityOf, targetSize } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import type { ImageLimits, ImageProbe } from './image-probe';
import { bmpFileBytes, encodeBmp } from './encode-bmp';
import { checkOutputBytes, checkOutputSize, keepsFrames } from './output-limits';

export interface RenderOptions {
  limits: ImageLimits;
  /** JPEG/WebP/AVIF quality when the transform asks for none (see defaultQualityOf). */
  quality: number;
  /** Processing budget; libvips stops cooperatively when it runs out. */
  timeoutMs: number;
}

export interface RenderedVariant {
  bytes: Buffer;
  contentType: string;
  format: OutputFormat;
  width: number;
  height: number;
  frames: number;
}

const WHITE = { r: 255, g: 255, b: 255, alpha: 1 };

type EncoderFormat = Exclude<OutputFormat, 'bmp'>;

function encode(image: Sharp, format: EncoderFormat, quality: number): Sharp {
  switch (format) {
    case 'jpeg':
      return image.jpeg({ quality, mozjpeg: false });
    case 'png':
      return image.png();
    case 'webp':
      return image.webp({ quality });
    case 'avif':
      return image.avif({ quality, effort: 4 });
    case 'gif':
      return image.gif();
    case 'tiff':
      return image.tiff({ compression: 'lzw' });
  }
}

/** BMP from sharp's raw pixels (libvips has no BMP writer); the byte limit is checked before the pixels are. */
async function encodeToBmp(image: Sharp, withAlpha: boolean, limits: ImageLimits): Promise<{ data: Buffer; info: { width: number; height: number } }> {
  const channels = withAlpha ? 4 : 3;
  const raw = await (withAlpha ? image.ensureAlpha() : image.removeAlpha()).toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  checkOutputBytes(bmpFileBytes(raw.info.width, raw.info.height, channels), limits);
  return { data: encodeBmp({ data: raw.data, width: raw.info.width, height: raw.info.height, channels }), info: raw.info };
}

function renderError(error: unknown): ImageCloudError {
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout/i.test(message)) {
    return new ImageCloudError('processing_timeout', 'Rendering the image took longer than its processing budget.', { cause: error });
  }
  // The render child's memory ceiling (address-space limit) makes allocations fail.
  if (/failed to allocate|bad_alloc|out of memory|memory error/i.test(message)) {
    return new ImageCloudError('image_too_large', 'Rendering the image needs more memory than one render may use.', { cause: error });
  }
  if (/pixel limit/i.test(message)) {
    return new ImageCloudError('image_too_large', 'The image has more pixels than the limit allows.', { cause: error });
  }
  if (/blocked|unsupported image format/i.test(message)) {
    return new ImageCloudError('unsupported_format', 'The image format is not supported.', { cause: error });
  }
  return new ImageCloudError('image_corrupt', 'The image cannot be decoded: its data is corrupt or truncated.', { cause: error });
}

/**
 * Decodes, orients, resizes and encodes one variant. Animated GIF/WebP keep their frames when the
 * output format can hold them; other outputs take the first frame.
 */
export async function renderVariant(
  bytes: Buffer,
  probe: ImageProbe,
  transform: Transform,
  options: RenderOptions,
): Promise<RenderedVariant> {
  checkOutputSize(probe, transform, options.limits);
  const animated = keepsFrames(probe, transform.format);
  const size = targetSize(probe, transform);
  const flattenOnWhite = transform.fit === 'pad' || transform.format === 'jpeg';
  const quality = transform.quality ?? defaultQualityOf(transform.format, options.quality);

  let image = sharp(bytes, {
    animated,
    autoOrient: !animated,
    failOn: 'error',
    limitInputPixels: options.limits.maxPixels * (animated ? probe.frames : 1),
  })
    .timeout({ seconds: Math.max(1, Math.ceil(options.timeoutMs / 1000)) })
    .resize(size.width, size.height, { fit: 'fill' });

  if (flattenOnWhite && probe.hasAlpha) image = image.flatten({ background: WHITE });
  if (size.canvasWidth > size.width || size.canvasHeight > size.height) {
    const left = Math.floor((size.canvasWidth - size.width) / 2);
    const top = Math.floor((size.canvasHeight - size.height) / 2);
    image = image.extend({
      left,
      top,
      right: size.canvasWidth - size.width - left,
      bottom: size.canvasHeight - size.height - top,
      background: WHITE,
    });
  }

  try {
    const { data, info }: { data: Buffer; info: { width: number; height: number; pages?: number; pageHeight?: number } } =
      transform.format === 'bmp'
        ? await encodeToBmp(image, probe.hasAlpha && !flattenOnWhite, options.limits)
        : await encode(image, transform.format, quality).toBuffer({ resolveWithObject: true });
    checkOutputBytes(data.length, options.limits);
    const frames = animated ? (info.pages ?? probe.frames) : 1;
    return {
      bytes: data,
      contentType: CONTENT_TYPES[transform.format],
      format: transform.format,
      width: info.width,
      height: animated && info.pageHeight ? info.pageHeight : info.height,
      frames,
    };
  } catch (error) {
    if (error instanceof ImageCloudError) throw error;
    throw renderError(error);
  }
}
