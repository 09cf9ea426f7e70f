import { type Transform, targetSize } from '@image-cloud/contracts';

/** What the header of a stored original says, as far as the cost of rendering it goes. */
export interface OriginalFacts {
  /** sharp's format name: jpeg, png, webp, gif, heif, tiff, svg … */
  format: string;
  width: number;
  height: number;
  frames: number;
  bytes: number;
}

/** The work of one render: what it is (input > output format) and how much (megapixel-frames). */
export interface RenderWork {
  key: string;
  /** Decoded plus encoded megapixel-frames. */
  units: number;
}

const ANIMATED_INPUTS = new Set(['gif', 'webp']);
const ANIMATED_OUTPUTS = new Set(['gif', 'webp']);

/**
 * The units a render costs: every frame that is decoded and every frame that is encoded, in
 * megapixels. Animations only keep their frames when input and output can both hold them (the
 * renderer takes the first frame otherwise), so a GIF → JPEG is one frame and a GIF → WebP all.
 */
export function renderWorkOf(original: OriginalFacts, transform: Transform): RenderWork {
  const animated = original.frames > 1 && ANIMATED_INPUTS.has(original.format) && ANIMATED_OUTPUTS.has(transform.format);
  const frames = animated ? original.frames : 1;
  const output = targetSize(original, transform);
  const pixels = original.width * original.height * frames + output.canvasWidth * output.canvasHeight * frames;
  return { key: `${original.format}>${transform.format}`, units: pixels / 1e6 };
}
