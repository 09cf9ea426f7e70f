import type { Transform } from './transform';
import { targetSize } from './target-size';

const box = (width: number | undefined, height: number | undefined, fit: Transform['fit']): Transform => ({
  ...(width === undefined ? {} : { width }),
  ...(height === undefined ? {} : { height }),
  fit,
  format: 'jpeg',
});

describe('targetSize', () => {
  it('fits inside the box keeping the aspect ratio', () => {
    expect(targetSize({ width: 2725, height: 2225 }, box(200, 200, 'inside'))).toEqual({ width: 200, height: 163, canvasWidth: 200, canvasHeight: 163 });
    expect(targetSize({ width: 450, height: 600 }, box(200, 200, 'inside'))).toEqual({ width: 150, height: 200, canvasWidth: 150, canvasHeight: 200 });
  });

  it('never enlarges inside the box', () => {
    expect(targetSize({ width: 80, height: 40 }, box(200, 200, 'inside'))).toEqual({ width: 80, height: 40, canvasWidth: 80, canvasHeight: 40 });
  });

  it('handles width-only and height-only boxes', () => {
    expect(targetSize({ width: 1000, height: 500 }, box(200, undefined, 'inside'))).toMatchObject({ width: 200, height: 100 });
    expect(targetSize({ width: 1000, height: 500 }, box(undefined, 100, 'inside'))).toMatchObject({ width: 200, height: 100 });
  });

  it('stretches to exactly the box with fill, enlarging if needed', () => {
    expect(targetSize({ width: 80, height: 40 }, box(200, 300, 'fill'))).toEqual({ width: 200, height: 300, canvasWidth: 200, canvasHeight: 300 });
    expect(targetSize({ width: 80, height: 40 }, box(160, undefined, 'fill'))).toEqual({ width: 160, height: 80, canvasWidth: 160, canvasHeight: 80 });
  });

  it('pads to exactly the box', () => {
    expect(targetSize({ width: 1000, height: 500 }, box(200, 200, 'pad'))).toEqual({ width: 200, height: 100, canvasWidth: 200, canvasHeight: 200 });
    expect(targetSize({ width: 20, height: 10 }, box(200, 200, 'pad'))).toEqual({ width: 20, height: 10, canvasWidth: 200, canvasHeight: 200 });
  });

  it('never produces a zero side for extreme aspect ratios', () => {
    expect(targetSize({ width: 10000, height: 1 }, box(100, 100, 'inside'))).toEqual({ width: 100, height: 1, canvasWidth: 100, canvasHeight: 1 });
  });
});
