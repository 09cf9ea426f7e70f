import type { Transform } from './transform';

export interface TargetSize {
  /** Size the image itself is resized to. */
  width: number;
  height: number;
  /** Size of the output; larger than the image only for `pad` (force_to_size). */
  canvasWidth: number;
  canvasHeight: number;
}

/**
 * Output geometry of a transform, computed up front so the response's size is known and exact.
 * `inside` and `pad` never enlarge (a thumbnail is never larger than the original); `fill`
 * stretches to exactly the box, and with one side given scales proportionally to it.
 */
export function targetSize(source: { width: number; height: number }, transform: Transform): TargetSize {
  const { width: boxWidth, height: boxHeight, fit } = transform;
  if (fit === 'fill') {
    const width = boxWidth ?? Math.max(1, Math.round((source.width * boxHeight!) / source.height));
    const height = boxHeight ?? Math.max(1, Math.round((source.height * boxWidth!) / source.width));
    return { width, height, canvasWidth: width, canvasHeight: height };
  }

  const scale = Math.min(
    boxWidth === undefined ? Infinity : boxWidth / source.width,
    boxHeight === undefined ? Infinity : boxHeight / source.height,
    1,
  );
  const width = Math.min(boxWidth ?? Infinity, Math.max(1, Math.round(source.width * scale)));
  const height = Math.min(boxHeight ?? Infinity, Math.max(1, Math.round(source.height * scale)));
  if (fit === 'pad') return { width, height, canvasWidth: boxWidth!, canvasHeight: boxHeight! };
  return { width, height, canvasWidth: width, canvasHeight: height };
}
