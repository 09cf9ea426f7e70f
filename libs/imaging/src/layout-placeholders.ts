import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';

/** What a page paints before an image loads. */
export interface Placeholders {
  /** The image's dominant colour, `#rrggbb`. */
  dominantColor: string;
  /** ThumbHash of the image, base64: a ~25-byte blurred preview that keeps the aspect ratio and alpha. */
  thumbHash: string;
}

/** ThumbHash encodes images of at most 100×100 pixels. */
const THUMBHASH_MAX_SIDE = 100;

function hex(channel: number): string {
  return Math.round(channel).toString(16).padStart(2, '0');
}

/**
 * Decodes the original once, shrunk to at most 100×100 on load (JPEG and WebP decode at a fraction
 * of their size) and oriented as displayed, and derives both placeholders from those few pixels.
 * It decodes the whole image, so it runs in the sandboxed probe child like every decode.
 */
export async function computePlaceholders(bytes: Buffer, options: { maxPixels: number; timeoutMs: number }): Promise<Placeholders> {
  const { data, info } = await sharp(bytes, { autoOrient: true, failOn: 'error', limitInputPixels: options.maxPixels })
    .timeout({ seconds: Math.max(1, Math.ceil(options.timeoutMs / 1000)) })
    .resize(THUMBHASH_MAX_SIDE, THUMBHASH_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const thumbHash = Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64');
  const { dominant } = await sharp(data, { raw: { width: info.width, height: info.height, channels: 4 } }).stats();
  return { dominantColor: `#${hex(dominant.r)}${hex(dominant.g)}${hex(dominant.b)}`, thumbHash };
}
