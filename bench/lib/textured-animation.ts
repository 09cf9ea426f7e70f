import sharp from 'sharp';

/**
 * An animated GIF that is expensive to re-encode without being big: every frame is a different
 * mosaic of `blockPx` blocks in a few colours (noise scaled up without smoothing). Resizing blends
 * the block edges into new colours, so every output frame needs real quantizing (GIF) or encoding
 * (WebP) — unlike `makeAnimation`'s solid frames, which re-encode in well under the 5 s budget.
 */
export async function makeTexturedAnimation(options: { width: number; height: number; frames: number; blockPx?: number; colours?: number }): Promise<Buffer> {
  const { width, height, frames, blockPx = 10, colours = 16 } = options;
  const frameImages = await Promise.all(
    Array.from({ length: frames }, async (_, i) => {
      const mosaic = await sharp({
        create: {
          width: Math.ceil(width / blockPx),
          height: Math.ceil(height / blockPx),
          channels: 3,
          background: { r: (i * 37) % 256, g: 0, b: 0 },
          noise: { type: 'gaussian', mean: 128, sigma: 60 },
        },
      })
        .png()
        .toBuffer();
      return sharp(mosaic).resize(width, height, { kernel: 'nearest', fit: 'fill' }).png().toBuffer();
    }),
  );
  return sharp(frameImages, { join: { animated: true } }).gif({ effort: 1, dither: 0, colours }).toBuffer();
}
