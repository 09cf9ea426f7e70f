import { crc32 } from 'node:zlib';

/** What sharp's metadata says about an original, read from its header without libvips. */
export interface HeaderFacts {
  format: 'jpeg' | 'png';
  /** As stored, before EXIF orientation. */
  width: number;
  height: number;
  frames: number;
  orientation?: number;
  hasAlpha: boolean;
}

/** Thrown inside the readers for anything they are not sure of; never leaves this module. */
class NotCertain extends Error {}

function need(condition: boolean): asserts condition {
  if (!condition) throw new NotCertain();
}

/**
 * Reads JPEG and PNG headers with bounds-checked buffer reads, giving exactly what sharp's
 * metadata gives, or undefined whenever that is not certain (another format, anything unusual or
 * damaged): undefined means "ask libvips", so every doubt resolves to undefined, never a guess.
 */
export function readImageHeader(bytes: Buffer): HeaderFacts | undefined {
  try {
    if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xd8) return readJpeg(bytes);
    if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a) return readPng(bytes);
    return undefined;
  } catch {
    // Bounds errors from Buffer reads land here too: a short or odd file is simply not certain.
    return undefined;
  }
}

// ---- JPEG ----

/** libjpeg refuses larger sides (JPEG_MAX_DIMENSION). */
const JPEG_MAX_SIDE = 65_500;
const SOF_BASELINE = 0xc0;
const SOF_EXTENDED = 0xc1;
const SOF_PROGRESSIVE = 0xc2;
const DHT = 0xc4;
const SOS = 0xda;
const DQT = 0xdb;
const DRI = 0xdd;
const APP1 = 0xe1;
const COM = 0xfe;
/**
 * Real JPEGs have tens of segments before the scan (an ICC profile at most 255): no worker-blocking
 * walk over millions of empty ones, which the sandbox can time out and we could not.
 */
const JPEG_MAX_SEGMENTS = 1_000;

interface JpegFrame {
  width: number;
  height: number;
  componentIds: Set<number>;
}

/**
 * Walks the markers up to the first scan, as libjpeg's jpeg_read_header does, validating each
 * table it would parse so a header libjpeg rejects is never answered here. Only 8-bit Huffman
 * frames (baseline, extended, progressive) with 1, 3 or 4 components; the file must end with EOI
 * so a truncated download goes to libvips.
 */
function readJpeg(bytes: Buffer): HeaderFacts | undefined {
  need(bytes.length >= 4 && bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9);
  let frame: JpegFrame | undefined;
  let orientation: number | undefined;
  let exifSegments = 0;
  let pos = 2;
  for (let segments = 0; ; segments++) {
    need(segments < JPEG_MAX_SEGMENTS);
    // No fill bytes or garbage between segments: libjpeg tolerates them, we need not.
    need(bytes[pos] === 0xff);
    const marker = bytes[pos + 1];
    const length = bytes.readUInt16BE(pos + 2);
    need(length >= 2);
    const start = pos + 4;
    const end = pos + 2 + length;
    need(end <= bytes.length);
    if (marker === SOF_BASELINE || marker === SOF_EXTENDED || marker === SOF_PROGRESSIVE) {
      need(frame === undefined);
      frame = readJpegFrame(bytes, start, end);
    } else if (marker === DHT) {
      checkHuffmanTables(bytes, start, end);
    } else if (marker === DQT) {
      checkQuantTables(bytes, start, end);
    } else if (marker === DRI) {
      need(length === 4);
    } else if (marker === APP1 && bytes.toString('latin1', start, Math.min(start + 4, end)) === 'Exif') {
      exifSegments += 1;
      need(exifSegments === 1);
      orientation = readExifOrientation(bytes, start, end);
    } else if (marker === SOS) {
      need(frame !== undefined);
      checkScanHeader(bytes, start, end, frame);
      // Headers end at the first scan; the entropy-coded data after it is libjpeg's business.
      return { format: 'jpeg', width: frame.width, height: frame.height, frames: 1, ...(orientation === undefined ? {} : { orientation }), hasAlpha: false };
    } else {
      // APPn and COM carry nothing sharp reports here; every other marker (other SOFs, DAC, DNL, RSTn, EOI, SOI…) is unusual.
      need((marker >= 0xe0 && marker <= 0xef) || marker === COM);
    }
    pos = end;
  }
}

function readJpegFrame(bytes: Buffer, start: number, end: number): JpegFrame {
  const precision = bytes[start];
  const height = bytes.readUInt16BE(start + 1);
  const width = bytes.readUInt16BE(start + 3);
  const components = bytes[start + 5];
  need(precision === 8);
  need(width > 0 && height > 0 && width <= JPEG_MAX_SIDE && height <= JPEG_MAX_SIDE);
  need(components === 1 || components === 3 || components === 4);
  need(end - start === 6 + 3 * components);
  const componentIds = new Set<number>();
  for (let i = 0; i < components; i++) {
    const at = start + 6 + 3 * i;
    const horizontal = bytes[at + 1] >> 4;
    const vertical = bytes[at + 1] & 0x0f;
    need(!componentIds.has(bytes[at]));
    need(horizontal >= 1 && horizontal <= 4 && vertical >= 1 && vertical <= 4 && bytes[at + 2] <= 3);
    componentIds.add(bytes[at]);
  }
  return { width, height, componentIds };
}

/** Walks a DHT or DQT segment's tables, each `tableLength` bytes from where it starts; they must fill the segment exactly. */
function checkTables(start: number, end: number, tableLength: (at: number) => number): void {
  let at = start;
  need(at < end);
  while (at < end) at += tableLength(at);
  need(at === end);
}

function checkHuffmanTables(bytes: Buffer, start: number, end: number): void {
  checkTables(start, end, (at) => {
    const tableClass = bytes[at] >> 4;
    const tableId = bytes[at] & 0x0f;
    need(tableClass <= 1 && tableId <= 3);
    need(at + 17 <= end);
    let symbols = 0;
    for (let i = 1; i <= 16; i++) symbols += bytes[at + i];
    need(symbols <= 256);
    return 17 + symbols;
  });
}

function checkQuantTables(bytes: Buffer, start: number, end: number): void {
  checkTables(start, end, (at) => {
    const precision = bytes[at] >> 4;
    const tableId = bytes[at] & 0x0f;
    need(precision <= 1 && tableId <= 3);
    return 1 + 64 * (precision + 1);
  });
}

function checkScanHeader(bytes: Buffer, start: number, end: number, frame: JpegFrame): void {
  const components = bytes[start];
  need(components >= 1 && components <= 4 && end - start === 1 + 2 * components + 3);
  const seen = new Set<number>();
  for (let i = 0; i < components; i++) {
    const id = bytes[start + 1 + 2 * i];
    const tables = bytes[start + 2 + 2 * i];
    need(frame.componentIds.has(id) && !seen.has(id));
    need(tables >> 4 <= 3 && (tables & 0x0f) <= 3);
    seen.add(id);
  }
}

const EXIF_ORIENTATION_TAG = 0x0112;
const EXIF_SHORT = 3;

/**
 * The orientation libvips sets from an APP1 Exif block: the IFD0 Orientation (a SHORT, 1–8), or
 * none when IFD0 has no such tag. Anything libexif might read differently (other byte layouts,
 * repeated tags, values it would replace, an IFD running past the block) is not certain.
 */
function readExifOrientation(bytes: Buffer, start: number, end: number): number | undefined {
  need(end - start >= 6 && bytes.toString('latin1', start, start + 6) === 'Exif\0\0');
  const tiff = bytes.subarray(start + 6, end);
  const order = tiff.toString('latin1', 0, 2);
  need(order === 'II' || order === 'MM');
  const little = order === 'II';
  const u16 = (at: number) => (little ? tiff.readUInt16LE(at) : tiff.readUInt16BE(at));
  const u32 = (at: number) => (little ? tiff.readUInt32LE(at) : tiff.readUInt32BE(at));
  need(u16(2) === 42);
  const ifd0 = u32(4);
  need(ifd0 >= 8 && ifd0 + 2 <= tiff.length);
  const entries = u16(ifd0);
  // An empty IFD0 (some encoders write one, the thumbnail's IFD1 after it) simply has no orientation.
  need(ifd0 + 2 + entries * 12 + 4 <= tiff.length);
  let orientation: number | undefined;
  for (let i = 0; i < entries; i++) {
    const entry = ifd0 + 2 + i * 12;
    if (u16(entry) !== EXIF_ORIENTATION_TAG) continue;
    need(orientation === undefined);
    need(u16(entry + 2) === EXIF_SHORT && u32(entry + 4) === 1);
    orientation = u16(entry + 8);
    need(orientation >= 1 && orientation <= 8);
  }
  return orientation;
}

// ---- PNG ----

/** libpng (as libvips sets it up) reads sides this large; its real limit is higher but unverified. */
const PNG_MAX_SIDE = 10_000_000;
const PNG_SIGNATURE_BYTES = 8;
/** Bounds the walk in the worker: a 50 MB PNG cut in 1 KB chunks, far more than encoders write. */
const PNG_MAX_CHUNKS = 50_000;
/** Bounds the CRC work on the header: big text or profiles before the image data go to libvips. */
const PNG_MAX_HEADER_CHUNK_BYTES = 1 << 20;
/** Bit depths libpng accepts per colour type. */
const PNG_BIT_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
const GREY = 0;
const RGB = 2;
const PALETTE = 3;
/** Animation (sharp reports one frame, the renderer may disagree) and EXIF (orientation) go to libvips. */
const PNG_REFUSED_ANYWHERE = new Set(['acTL', 'fcTL', 'fdAT', 'eXIf']);

/**
 * Walks every chunk to an IEND that ends the file. Chunks before the image data are CRC-checked
 * (libvips ignores CRC errors, but a damaged header is exactly what we should not vouch for);
 * alpha is what libvips gives: an alpha colour type, or a well-formed tRNS.
 */
function readPng(bytes: Buffer): HeaderFacts | undefined {
  let pos = PNG_SIGNATURE_BYTES;
  let sawData = false;
  let dataEnded = false;
  let paletteEntries = 0;
  let transparency = false;
  let colourType = -1;
  let bitDepth = 0;
  let width = 0;
  let height = 0;
  for (let index = 0; ; index++) {
    need(index < PNG_MAX_CHUNKS);
    const length = bytes.readUInt32BE(pos);
    need(length <= 0x7fffffff);
    const type = bytes.toString('latin1', pos + 4, pos + 8);
    // Letters only, with the reserved bit (third letter's case) clear, as PNG 1.2 requires.
    need(isLetter(type.charCodeAt(0)) && isLetter(type.charCodeAt(1)) && isUpper(type.charCodeAt(2)) && isLetter(type.charCodeAt(3)));
    const dataStart = pos + 8;
    const dataEnd = dataStart + length;
    need(dataEnd + 4 <= bytes.length);
    need(!PNG_REFUSED_ANYWHERE.has(type));
    if (!sawData && type !== 'IDAT') {
      need(length <= PNG_MAX_HEADER_CHUNK_BYTES);
      need(crc32(bytes.subarray(pos + 4, dataEnd)) === bytes.readUInt32BE(dataEnd));
    }
    const data = bytes.subarray(dataStart, dataEnd);

    if (index === 0) {
      need(type === 'IHDR' && length === 13);
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      bitDepth = data[8];
      colourType = data[9];
      need(width > 0 && height > 0 && width <= PNG_MAX_SIDE && height <= PNG_MAX_SIDE);
      need(PNG_BIT_DEPTHS[colourType]?.includes(bitDepth) === true);
      need(data[10] === 0 && data[11] === 0 && (data[12] === 0 || data[12] === 1));
    } else if (type === 'IEND') {
      need(sawData && length === 0 && dataEnd + 4 === bytes.length);
      return { format: 'png', width, height, frames: 1, hasAlpha: colourType === 4 || colourType === 6 || transparency };
    } else if (type === 'IDAT') {
      // The image data is one run of IDAT chunks.
      need(!dataEnded);
      need(colourType !== PALETTE || paletteEntries > 0);
      sawData = true;
    } else if (sawData) {
      // After the image data libvips reads nothing for its metadata; only another critical chunk is odd.
      need(type[0] >= 'a' && type[0] <= 'z');
      dataEnded = true;
    } else if (type === 'PLTE') {
      need(paletteEntries === 0 && !transparency && (colourType === RGB || colourType === PALETTE || colourType === 6));
      need(length > 0 && length % 3 === 0 && length / 3 <= 256);
      // libpng drops the entries a palette image's bit depth cannot index, then measures tRNS against what is left.
      need(colourType !== PALETTE || length / 3 <= 2 ** bitDepth);
      paletteEntries = length / 3;
    } else if (type === 'tRNS') {
      need(!transparency);
      // libpng warns of grey or RGB transparent samples the bit depth cannot hold: not certain what follows.
      const sampleMax = 2 ** bitDepth - 1;
      if (colourType === GREY) need(length === 2 && data.readUInt16BE(0) <= sampleMax);
      else if (colourType === RGB) need(length === 6 && [0, 2, 4].every((at) => data.readUInt16BE(at) <= sampleMax));
      else need(colourType === PALETTE && paletteEntries > 0 && length >= 1 && length <= paletteEntries);
      transparency = true;
    } else {
      // libpng skips ancillary chunks it does not know and only warns of malformed ones it does:
      // none changes the size or the alpha it reports. An unknown critical chunk it refuses.
      need(type[0] >= 'a' && type[0] <= 'z');
    }
    pos = dataEnd + 4;
  }
}

function isUpper(code: number): boolean {
  return code >= 0x41 && code <= 0x5a;
}

function isLetter(code: number): boolean {
  return isUpper(code) || (code >= 0x61 && code <= 0x7a);
}
