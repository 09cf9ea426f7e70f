/**
 * BMP output, which libvips (and so sharp) cannot write. Old clients ask for it by name, so the
 * encoder is written here from sharp's raw pixels:
 * - opaque images: 24-bit BGR, rows bottom-up, each padded to 4 bytes, BITMAPINFOHEADER;
 * - images with alpha: 32-bit BGRA with a BITMAPV4HEADER whose BI_BITFIELDS masks say where alpha
 *   is (a plain 32-bit BITMAPINFOHEADER leaves alpha undefined and many readers drop it).
 */

const FILE_HEADER_BYTES = 14;
const INFO_HEADER_BYTES = 40;
const V4_HEADER_BYTES = 108;
const BI_RGB = 0;
const BI_BITFIELDS = 3;
/** "sRGB" as the V4 header's colour-space tag. */
const LCS_SRGB = 0x73524742;
/** 72 dpi in pixels per metre, what most writers put there. */
const PIXELS_PER_METRE = 2835;

export interface RawPixels {
  /** Interleaved RGB (3 channels) or RGBA (4 channels), rows top-down, no padding: what sharp's raw() gives. */
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

function rowBytes(width: number, channels: 3 | 4): number {
  return channels === 4 ? width * 4 : Math.ceil((width * 3) / 4) * 4;
}

/** Size of the BMP file for an image of this size, known before any pixel is written (for the output byte limit). */
export function bmpFileBytes(width: number, height: number, channels: 3 | 4): number {
  const headers = FILE_HEADER_BYTES + (channels === 4 ? V4_HEADER_BYTES : INFO_HEADER_BYTES);
  return headers + rowBytes(width, channels) * height;
}

export function encodeBmp(raw: RawPixels): Buffer {
  const { data, width, height, channels } = raw;
  if (data.length !== width * height * channels) {
    throw new Error(`encodeBmp: ${data.length} bytes of pixels for ${width}x${height}x${channels}`);
  }
  const alpha = channels === 4;
  const infoBytes = alpha ? V4_HEADER_BYTES : INFO_HEADER_BYTES;
  const pixelOffset = FILE_HEADER_BYTES + infoBytes;
  const stride = rowBytes(width, channels);
  const file = Buffer.alloc(bmpFileBytes(width, height, channels));

  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(pixelOffset, 10);

  const info = FILE_HEADER_BYTES;
  file.writeUInt32LE(infoBytes, info);
  file.writeInt32LE(width, info + 4);
  // Positive height: rows are stored bottom-up, which every reader understands.
  file.writeInt32LE(height, info + 8);
  file.writeUInt16LE(1, info + 12);
  file.writeUInt16LE(alpha ? 32 : 24, info + 14);
  file.writeUInt32LE(alpha ? BI_BITFIELDS : BI_RGB, info + 16);
  file.writeUInt32LE(stride * height, info + 20);
  file.writeInt32LE(PIXELS_PER_METRE, info + 24);
  file.writeInt32LE(PIXELS_PER_METRE, info + 28);
  if (alpha) {
    file.writeUInt32LE(0x00ff0000, info + 40); // red
    file.writeUInt32LE(0x0000ff00, info + 44); // green
    file.writeUInt32LE(0x000000ff, info + 48); // blue
    file.writeUInt32LE(0xff000000, info + 52); // alpha
    file.writeUInt32LE(LCS_SRGB, info + 56);
  }

  for (let y = 0; y < height; y++) {
    const source = y * width * channels;
    let target = pixelOffset + (height - 1 - y) * stride;
    for (let x = 0; x < width; x++) {
      const at = source + x * channels;
      file[target++] = data[at + 2];
      file[target++] = data[at + 1];
      file[target++] = data[at];
      if (alpha) file[target++] = data[at + 3];
    }
  }
  return file;
}
