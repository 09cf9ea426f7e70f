import { type OutputFormat, type Transform, targetSize } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import type { ImageLimits } from './image-probe';

const ANIMATED_INPUTS = new Set(['gif', 'webp']);
const ANIMATED_OUTPUTS = new Set<OutputFormat>(['gif', 'webp']);

/** True when the render keeps every frame: an animated GIF/WebP rendered to GIF or WebP; other outputs take the first frame. */
export function keepsFrames(source: { format: string; frames: number }, format: OutputFormat): boolean {
  return source.frames > 1 && ANIMATED_INPUTS.has(source.format) && ANIMATED_OUTPUTS.has(format);
}

/**
 * Output is bounded like input: a transform may not ask for more pixels × frames than
 * `maxOutputPixels` (a 1×1 PNG asked for at 10000×10000 would otherwise cost gigabytes to encode).
 * Checked from the header before anything is decoded.
 */
export function checkOutputSize(
  source: { format: string; width: number; height: number; frames: number },
  transform: Transform,
  limits: ImageLimits,
): void {
  if (limits.maxOutputPixels === undefined) return;
  const size = targetSize(source, transform);
  const frames = keepsFrames(source, transform.format) ? source.frames : 1;
  const pixels = size.canvasWidth * size.canvasHeight * frames;
  if (pixels <= limits.maxOutputPixels) return;
  const framesText = frames > 1 ? ` × ${frames} frames` : '';
  throw new ImageCloudError(
    'image_too_large',
    `The requested output is ${size.canvasWidth}x${size.canvasHeight}${framesText} = ${pixels} pixels, over the output limit of ${limits.maxOutputPixels}; ask for a smaller size.`,
  );
}

/** An encoded variant over `maxOutputBytes` is refused, never stored. */
export function checkOutputBytes(bytes: number, limits: ImageLimits): void {
  if (limits.maxOutputBytes === undefined || bytes <= limits.maxOutputBytes) return;
  throw new ImageCloudError(
    'image_too_large',
    `The encoded output is ${bytes} bytes, over the output limit of ${limits.maxOutputBytes}; ask for a smaller size or another format.`,
  );
}
