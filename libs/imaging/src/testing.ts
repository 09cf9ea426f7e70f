/**
 * Test helpers that make and inspect real images with sharp, so suites outside the imaging lib
 * never import sharp themselves. Not for production code.
 */
import sharp from 'sharp';

export type Rgb = { r: number; g: number; b: number };

export const RED: Rgb = { r: 255, g: 0, b: 0 };
export const BLUE: Rgb = { r: 0, g: 0, b: 255 };
export const WHITE: Rgb = { r: 255, g: 255, b: 255 };

export interface MakeImageOptions {
  width: number;
  height: number;
  format?: 'jpeg' | 'png' | 'webp' | 'gif' | 'avif' | 'tiff';
  color?: Rgb;
  /** Alpha 0–1 of the whole image (png/webp/gif keep it). */
  alpha?: number;
}

/** A solid-colour image. */
export async function makeImage(options: MakeImageOptions): Promise<Buffer> {
  const { width, height, format = 'jpeg', color = RED, alpha } = options;
  const image = sharp({
    create: { width, height, channels: alpha === undefined ? 3 : 4, background: { ...color, alpha: alpha ?? 1 } },
  });
  return image.toFormat(format).toBuffer();
}

/**
 * A JPEG stored `width`×`height` whose left half is red and right half blue, tagged with an EXIF
 * orientation: after auto-orientation the colours land where the orientation says.
 */
export async function makeOrientedJpeg(width: number, height: number, orientation: number): Promise<Buffer> {
  const half = Math.floor(width / 2);
  const left = await sharp({ create: { width: half, height, channels: 3, background: RED } }).png().toBuffer();
  return sharp({ create: { width, height, channels: 3, background: BLUE } })
    .composite([{ input: left, left: 0, top: 0 }])
    .withMetadata({ orientation })
    .jpeg({ quality: 95 })
    .toBuffer();
}

/** An animated GIF or WebP whose frames alternate red and blue. */
export async function makeAnimation(options: { width: number; height: number; frames: number; format?: 'gif' | 'webp' }): Promise<Buffer> {
  const { width, height, frames, format = 'gif' } = options;
  const frameImages = await Promise.all(
    Array.from({ length: frames }, (_, i) =>
      sharp({ create: { width, height, channels: 4, background: { ...(i % 2 ? BLUE : RED), alpha: 1 } } }).png().toBuffer(),
    ),
  );
  return sharp(frameImages, { join: { animated: true } }).toFormat(format).toBuffer();
}

/** The first `bytes` bytes of an image: a truncated file whose header still parses. */
export function truncate(image: Buffer, bytes: number): Buffer {
  return image.subarray(0, bytes);
}

export interface DecodedImage {
  format: string;
  width: number;
  /** Height of one frame. */
  height: number;
  frames: number;
  channels: number;
  hasAlpha: boolean;
  /** Colour at (x, y) of the first frame, alpha flattened away. */
  pixel(x: number, y: number): Rgb;
}

/** Decodes a response body the way a client would (first frame, orientation applied). */
export async function decodeImage(bytes: Buffer): Promise<DecodedImage> {
  const metadata = await sharp(bytes, { animated: true }).metadata();
  const { data, info } = await sharp(bytes, { autoOrient: true }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return {
    format: metadata.format,
    width: info.width,
    height: info.height,
    frames: metadata.pages ?? 1,
    channels: metadata.channels,
    hasAlpha: metadata.hasAlpha ?? false,
    pixel(x: number, y: number): Rgb {
      const offset = (y * info.width + x) * info.channels;
      if (info.channels < 3) return { r: data[offset], g: data[offset], b: data[offset] };
      return { r: data[offset], g: data[offset + 1], b: data[offset + 2] };
    },
  };
}

/** True when two colours are within `tolerance` per channel (lossy codecs shift colours a little). */
export function isColorClose(actual: Rgb, expected: Rgb, tolerance = 40): boolean {
  return Math.abs(actual.r - expected.r) <= tolerance && Math.abs(actual.g - expected.g) <= tolerance && Math.abs(actual.b - expected.b) <= tolerance;
}

/**
 * A photo-sized image of random noise: expensive to encode (nothing compresses), so it is the
 * "pathologically slow render" of the lane tests.
 */
export async function makeNoiseImage(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 0, g: 0, b: 0 }, noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .jpeg({ quality: 90 })
    .toBuffer();
}
