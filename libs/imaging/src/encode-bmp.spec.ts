import sharp from 'sharp';
import { configureSharp } from './configure-sharp';
import { bmpFileBytes, encodeBmp } from './encode-bmp';
import { probeImage } from './image-probe';
import { renderVariant } from './render-variant';

/** A BMP reader written from the format's documentation, independent of the encoder. */
function decodeBmp(file: Buffer) {
  expect(file.toString('latin1', 0, 2)).toBe('BM');
  const pixelOffset = file.readUInt32LE(10);
  const headerBytes = file.readUInt32LE(14);
  const width = file.readInt32LE(18);
  const height = file.readInt32LE(22);
  const bitsPerPixel = file.readUInt16LE(28);
  const compression = file.readUInt32LE(30);
  const masks = headerBytes >= 56 ? [54, 58, 62, 66].map((at) => file.readUInt32LE(at)) : [];
  const bytesPerPixel = bitsPerPixel / 8;
  const stride = Math.ceil((width * bytesPerPixel) / 4) * 4;
  const pixel = (x: number, y: number) => {
    const at = pixelOffset + (height - 1 - y) * stride + x * bytesPerPixel;
    const [b, g, r] = [file[at], file[at + 1], file[at + 2]];
    return bytesPerPixel === 4 ? [r, g, b, file[at + 3]] : [r, g, b];
  };
  return { fileSize: file.readUInt32LE(2), pixelOffset, headerBytes, width, height, bitsPerPixel, compression, masks, stride, pixel };
}

/** 3x2 pixels, rows top-down: red green blue / white black grey; with alpha the second row is half transparent. */
function testPixels(channels: 3 | 4): Buffer {
  const rows = [
    [[255, 0, 0], [0, 255, 0], [0, 0, 255]],
    [[255, 255, 255], [0, 0, 0], [128, 128, 128]],
  ];
  return Buffer.from(rows.flatMap((row, y) => row.flatMap((rgb) => (channels === 4 ? [...rgb, y === 0 ? 255 : 128] : rgb))));
}

async function pngOf(channels: 3 | 4): Promise<Buffer> {
  return sharp(testPixels(channels), { raw: { width: 3, height: 2, channels } }).png().toBuffer();
}

const limits = { maxPixels: 1_000_000, maxFrames: 10 };

beforeAll(() => configureSharp({ threadsPerJob: 1 }));

describe('encodeBmp', () => {
  it('writes opaque images as 24-bit BGR, bottom-up, rows padded to 4 bytes', async () => {
    const raw = await sharp(await pngOf(3)).raw().toBuffer({ resolveWithObject: true });
    const file = encodeBmp({ data: raw.data, width: raw.info.width, height: raw.info.height, channels: 3 });
    const bmp = decodeBmp(file);
    expect(bmp).toMatchObject({ fileSize: file.length, pixelOffset: 54, headerBytes: 40, width: 3, height: 2, bitsPerPixel: 24, compression: 0, stride: 12 });
    expect(file.length).toBe(54 + 12 * 2);
    expect(file.length).toBe(bmpFileBytes(3, 2, 3));
    expect([bmp.pixel(0, 0), bmp.pixel(1, 0), bmp.pixel(2, 0)]).toEqual([[255, 0, 0], [0, 255, 0], [0, 0, 255]]);
    expect([bmp.pixel(0, 1), bmp.pixel(1, 1), bmp.pixel(2, 1)]).toEqual([[255, 255, 255], [0, 0, 0], [128, 128, 128]]);
    // The padding after the 9 bytes of each row is zero.
    expect([...file.subarray(54 + 9, 54 + 12)]).toEqual([0, 0, 0]);
  });

  it('writes images with alpha as 32-bit BGRA with a V4 header and BI_BITFIELDS masks', async () => {
    const raw = await sharp(await pngOf(4)).raw().toBuffer({ resolveWithObject: true });
    const file = encodeBmp({ data: raw.data, width: 3, height: 2, channels: 4 });
    const bmp = decodeBmp(file);
    expect(bmp).toMatchObject({ fileSize: file.length, pixelOffset: 14 + 108, headerBytes: 108, width: 3, height: 2, bitsPerPixel: 32, compression: 3 });
    expect(bmp.masks).toEqual([0x00ff0000, 0x0000ff00, 0x000000ff, 0xff000000]);
    expect(bmp.pixel(0, 0)).toEqual([255, 0, 0, 255]);
    expect(bmp.pixel(2, 1)).toEqual([128, 128, 128, 128]);
  });

  it('refuses pixels that do not match the size', () => {
    expect(() => encodeBmp({ data: Buffer.alloc(5), width: 3, height: 2, channels: 3 })).toThrow(/5 bytes of pixels for 3x2x3/);
  });
});

describe('renderVariant to bmp', () => {
  const options = { limits, quality: 80, timeoutMs: 5000 };

  it('renders a resized BMP with content type image/bmp, keeping alpha', async () => {
    const png = await sharp({ create: { width: 40, height: 20, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 0.5 } } }).png().toBuffer();
    const variant = await renderVariant(png, await probeImage(png, limits), { width: 20, fit: 'inside', format: 'bmp' }, options);
    expect(variant).toMatchObject({ contentType: 'image/bmp', format: 'bmp', width: 20, height: 10, frames: 1 });
    const bmp = decodeBmp(variant.bytes);
    expect(bmp).toMatchObject({ width: 20, height: 10, bitsPerPixel: 32 });
    const [r, g, b, a] = bmp.pixel(10, 5);
    expect([r, g, b]).toEqual([0, 0, 255]);
    expect(Math.abs(a - 128)).toBeLessThanOrEqual(1);
  });

  it('refuses a BMP over the output byte limit before writing its pixels', async () => {
    const jpeg = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    await expect(
      renderVariant(jpeg, await probeImage(jpeg, limits), { width: 200, fit: 'inside', format: 'bmp' }, { ...options, limits: { ...limits, maxOutputBytes: 100_000 } }),
    ).rejects.toMatchObject({ code: 'image_too_large', message: expect.stringMatching(/120054 bytes, over the output limit of 100000/) });
  });
});
