import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';

/** What a page paints before an image loads. */
export interface Placeholders {
  /** The image's dominant colour, `#rrggbb` (see dominantColorOf). */
  dominantColor: string;
  /** ThumbHash of the image, base64: a ~25-byte blurred preview that keeps the aspect ratio and alpha. */
  thumbHash: string;
}

/** ThumbHash encodes images of at most 100×100 pixels. */
const THUMBHASH_MAX_SIDE = 100;

/** Levels per channel of the colour histogram: 16³ = 4096 bins, as sharp's stats().dominant. */
const LEVELS = 16;
const BIN_WIDTH = 256 / LEVELS;

function hex(channel: number): string {
  return Math.round(channel).toString(16).padStart(2, '0');
}

/**
 * The centre of the fullest bin of a 4096-bin colour histogram, the method of sharp's
 * stats().dominant, counted here over the ≤100×100 RGBA pixels already decoded: a second libvips
 * pipeline for it cost more than the decode of a small image. Fully transparent pixels do not
 * count (their colour is invisible), unless the image has nothing else.
 */
export function dominantColorOf(rgba: Uint8Array): string {
  const counts = new Uint32Array(LEVELS ** 3);
  // Binned as libvips bins for sharp (16 still falls in the first bin), so both give the same colour.
  const level = (value: number) => (value === 0 ? 0 : (value - 1) >> 4);
  const binOf = (at: number) => (level(rgba[at]) << 8) | (level(rgba[at + 1]) << 4) | level(rgba[at + 2]);
  let visible = 0;
  for (let at = 0; at < rgba.length; at += 4) {
    if (rgba[at + 3] === 0) continue;
    counts[binOf(at)]++;
    visible++;
  }
  if (visible === 0) for (let at = 0; at < rgba.length; at += 4) counts[binOf(at)]++;
  let fullest = 0;
  for (let bin = 1; bin < counts.length; bin++) if (counts[bin] > counts[fullest]) fullest = bin;
  const centre = (level: number) => level * BIN_WIDTH + BIN_WIDTH / 2;
  return `#${hex(centre(fullest >> 8))}${hex(centre((fullest >> 4) & 15))}${hex(centre(fullest & 15))}`;
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
  return { dominantColor: dominantColorOf(data), thumbHash };
}
