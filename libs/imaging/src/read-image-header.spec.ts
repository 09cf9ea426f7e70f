import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { BENCH_PHOTOS_DIR, CORPUS_DIR, hasCorpus, readManifest } from '@image-cloud/testing';
import { configureSharp } from './configure-sharp';
import { probeHeaderInProcess, probeImage } from './image-probe';
import { readImageHeader } from './read-image-header';

const limits = { maxPixels: 50_000_000, maxFrames: 300 };

beforeAll(() => configureSharp({ threadsPerJob: 1 }));

/** What sharp's metadata says, in the reader's terms. */
async function sharpFacts(bytes: Buffer) {
  const metadata = await sharp(bytes, { limitInputPixels: false, failOn: 'none' }).metadata();
  return {
    format: metadata.format,
    width: metadata.width,
    height: metadata.height,
    frames: metadata.pages ?? 1,
    ...(metadata.orientation === undefined ? {} : { orientation: metadata.orientation }),
    hasAlpha: metadata.hasAlpha,
  };
}

/** Probing in process answers exactly what probing with sharp answers, the limit errors included. */
async function expectSameProbe(bytes: Buffer, probeLimits = limits): Promise<void> {
  const viaSharp = await probeImage(bytes, probeLimits).then(
    (probe) => ({ probe }),
    (error: unknown) => ({ error }),
  );
  let inProcess: { probe: unknown } | { error: unknown };
  try {
    inProcess = { probe: probeHeaderInProcess(bytes, probeLimits) };
  } catch (error) {
    inProcess = { error };
  }
  expect(inProcess).toEqual(viaSharp);
  if ('error' in viaSharp) expect((inProcess as { error: Error }).error).toMatchObject({ ...(viaSharp.error as object) });
}

const solid = (channels: 3 | 4, alpha = 1): Sharp =>
  sharp({ create: { width: 7, height: 5, channels, background: { r: 200, g: 30, b: 90, alpha } } });
/** A grey ramp, so palette and grey encoders keep several levels. */
const ramp = (channels: 1 | 2): Sharp => {
  const pixels = Buffer.alloc(7 * 5 * channels);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 37) % 256;
  return sharp(pixels, { raw: { width: 7, height: 5, channels } });
};

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

/** A PNG built chunk by chunk, for the header shapes sharp's encoder never writes. */
function buildPng(width: number, height: number, bitDepth: number, colourType: number, chunks: Buffer[] = []): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colourType;
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk('IHDR', ihdr), ...chunks, pngChunk('IDAT', deflateSync(Buffer.alloc(1))), pngChunk('IEND', Buffer.alloc(0))]);
}

/** Rewrites every chunk's CRC that can be found, so damage inside chunks reaches the reader's checks past the CRC. */
function fixPngCrcs(png: Buffer): Buffer {
  for (let pos = 8; pos + 12 <= png.length; ) {
    const end = pos + 8 + png.readUInt32BE(pos);
    if (end + 4 > png.length) break;
    png.writeUInt32BE(crc32(png.subarray(pos + 4, end)), end);
    pos = end + 4;
  }
  return png;
}

/** Offset of a JPEG marker segment (its 0xFF byte). */
function jpegSegment(jpeg: Buffer, marker: number): number {
  let pos = 2;
  while (jpeg[pos + 1] !== marker) pos += 2 + jpeg.readUInt16BE(pos + 2);
  return pos;
}

/** A small deterministic generator, so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const encoded: Array<[string, () => Promise<Buffer>]> = [
  ['baseline JPEG', () => solid(3).jpeg().toBuffer()],
  ['progressive JPEG', () => solid(3).jpeg({ progressive: true }).toBuffer()],
  ['mozjpeg JPEG', () => solid(3).jpeg({ mozjpeg: true }).toBuffer()],
  ['4:4:4 JPEG', () => solid(3).jpeg({ chromaSubsampling: '4:4:4' }).toBuffer()],
  ['CMYK JPEG', () => solid(3).toColourspace('cmyk').jpeg().toBuffer()],
  ['grey JPEG', () => ramp(1).toColourspace('b-w').jpeg().toBuffer()],
  ['JPEG with EXIF but no orientation', () => solid(3).jpeg().withExif({ IFD0: { Copyright: 'image-cloud' } }).toBuffer()],
  [
    'JPEG whose EXIF IFD0 is empty',
    async () => {
      const jpeg = await solid(3).jpeg().withMetadata({ orientation: 6 }).toBuffer();
      const tiff = jpegSegment(jpeg, 0xe1) + 10;
      const bigEndian = jpeg.toString('latin1', tiff, tiff + 2) === 'MM';
      const ifd0 = bigEndian ? jpeg.readUInt32BE(tiff + 4) : jpeg.readUInt32LE(tiff + 4);
      // No entries, and no IFD after it.
      jpeg.fill(0, tiff + ifd0, tiff + ifd0 + 6);
      return jpeg;
    },
  ],
  ['JPEG with an ICC profile', () => solid(3).jpeg().withIccProfile('p3').toBuffer()],
  ...[1, 2, 3, 4, 5, 6, 7, 8].map((orientation): [string, () => Promise<Buffer>] => [
    `JPEG with EXIF orientation ${orientation}`,
    () => solid(3).jpeg().withMetadata({ orientation }).toBuffer(),
  ]),
  ['RGB PNG', () => solid(3).png().toBuffer()],
  ['RGBA PNG', () => solid(4, 0.5).png().toBuffer()],
  ['grey PNG', () => ramp(1).toColourspace('b-w').png().toBuffer()],
  ['grey+alpha PNG', () => ramp(2).toColourspace('b-w').png().toBuffer()],
  ['palette PNG', () => solid(3).png({ palette: true }).toBuffer()],
  ['palette PNG with transparency', () => solid(4, 0.5).png({ palette: true }).toBuffer()],
  ['1-bit palette PNG', () => solid(3).png({ palette: true, colours: 2 }).toBuffer()],
  ['16-bit RGB PNG', () => solid(3).toColourspace('rgb16').png().toBuffer()],
  ['16-bit grey PNG', () => ramp(1).toColourspace('grey16').png().toBuffer()],
  ['interlaced PNG', () => solid(4, 0.5).png({ progressive: true }).toBuffer()],
  ['PNG with an ICC profile', () => solid(3).png().withIccProfile('p3').toBuffer()],
  ['grey PNG with tRNS', async () => buildPng(4, 3, 8, 0, [pngChunk('tRNS', Buffer.from([0, 9]))])],
  ['RGB PNG with tRNS', async () => buildPng(4, 3, 8, 2, [pngChunk('tRNS', Buffer.from([0, 9, 0, 9, 0, 9]))])],
  ['PNG with an unknown ancillary chunk', async () => buildPng(4, 3, 8, 6, [pngChunk('iDOT', Buffer.alloc(28))])],
  ['palette PNG with a full tRNS', async () => buildPng(4, 3, 8, 3, [pngChunk('PLTE', Buffer.alloc(6)), pngChunk('tRNS', Buffer.from([255, 255]))])],
];

describe('readImageHeader on images sharp made', () => {
  it.each(encoded)('%s: reads what sharp reads, and probes as probeImage does', async (_name, make) => {
    const bytes = await make();
    const facts = readImageHeader(bytes);
    expect(facts).toBeDefined();
    expect(facts).toEqual(await sharpFacts(bytes));
    expect(probeHeaderInProcess(bytes, limits)).toEqual(await probeImage(bytes, limits));
  });

  it('reads the orientation in both EXIF byte orders', async () => {
    const jpeg = await solid(3).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const app1 = jpegSegment(jpeg, 0xe1);
    const tiff = app1 + 10;
    const bigEndian = jpeg.toString('latin1', tiff, tiff + 2) === 'MM';
    // Re-encode IFD0 in the other byte order: header, entry count and the orientation entry only.
    const flipped = Buffer.from(jpeg);
    const read16 = (at: number) => (bigEndian ? jpeg.readUInt16BE(at) : jpeg.readUInt16LE(at));
    const read32 = (at: number) => (bigEndian ? jpeg.readUInt32BE(at) : jpeg.readUInt32LE(at));
    const write16 = (value: number, at: number) => (bigEndian ? flipped.writeUInt16LE(value, at) : flipped.writeUInt16BE(value, at));
    const write32 = (value: number, at: number) => (bigEndian ? flipped.writeUInt32LE(value, at) : flipped.writeUInt32BE(value, at));
    flipped.write(bigEndian ? 'II' : 'MM', tiff, 'latin1');
    write16(42, tiff + 2);
    const ifd0 = read32(tiff + 4);
    write32(ifd0, tiff + 4);
    const entries = read16(tiff + ifd0);
    // Other IFD0 entries would now point elsewhere; drop them by declaring the orientation the only one.
    let orientationEntry = -1;
    for (let i = 0; i < entries; i++) if (read16(tiff + ifd0 + 2 + i * 12) === 0x0112) orientationEntry = tiff + ifd0 + 2 + i * 12;
    write16(1, tiff + ifd0);
    const first = tiff + ifd0 + 2;
    write16(0x0112, first);
    write16(3, first + 2);
    write32(1, first + 4);
    write16(read16(orientationEntry + 8), first + 8);
    write32(0, first + 12);

    for (const bytes of [jpeg, flipped]) {
      expect(readImageHeader(bytes)).toEqual({ ...(await sharpFacts(bytes)), orientation: 6 });
      expect(probeHeaderInProcess(bytes, limits)).toEqual(await probeImage(bytes, limits));
    }
  });
});

describe('readImageHeader on what it should not vouch for', () => {
  it('is not certain of any truncation of a JPEG or a PNG, and never throws', async () => {
    for (const bytes of [await solid(3).jpeg().withMetadata({ orientation: 3 }).toBuffer(), await solid(4).png().toBuffer()]) {
      for (let length = 0; length < bytes.length; length++) expect(readImageHeader(bytes.subarray(0, length))).toBeUndefined();
    }
  });

  it('is not certain of random bytes after a valid signature, and never throws', () => {
    const next = random(7);
    const signatures = [Buffer.from([0xff, 0xd8]), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
    for (let i = 0; i < 2000; i++) {
      const tail = Buffer.alloc(Math.floor(next() * 400));
      for (let j = 0; j < tail.length; j++) tail[j] = Math.floor(next() * 256);
      expect(readImageHeader(Buffer.concat([signatures[i % 2], tail]))).toBeUndefined();
    }
  });

  it('leaves every other format, and a PNG with a broken IHDR CRC, an eXIf chunk or animation, to libvips', async () => {
    const others = [
      await solid(4).webp().toBuffer(),
      await solid(4).gif().toBuffer(),
      await solid(3).tiff().toBuffer(),
      await solid(3).avif().toBuffer(),
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="3"/>'),
      Buffer.alloc(0),
    ];
    const png = buildPng(4, 3, 8, 2);
    const brokenCrc = Buffer.from(png);
    brokenCrc[29] ^= 0xff;
    const withExif = await solid(3).png().withMetadata({ orientation: 6 }).toBuffer();
    const animated = buildPng(4, 3, 8, 2, [pngChunk('acTL', Buffer.from([0, 0, 0, 2, 0, 0, 0, 0]))]);
    for (const bytes of [...others, brokenCrc, withExif, animated]) {
      expect(readImageHeader(bytes)).toBeUndefined();
      expect(probeHeaderInProcess(bytes, limits)).toBeUndefined();
    }
  });

  it('leaves header shapes sharp reads differently, or refuses, to libvips', async () => {
    const jpeg = await solid(3).jpeg().toBuffer();
    const sof = jpegSegment(jpeg, 0xc0);
    const patched = (edit: (bytes: Buffer) => void) => {
      const bytes = Buffer.from(jpeg);
      edit(bytes);
      return bytes;
    };
    const cases = [
      patched((bytes) => bytes.writeUInt16BE(0, sof + 5)), // height 0: DNL, which libjpeg refuses
      patched((bytes) => bytes.writeUInt16BE(65_535, sof + 7)), // over libjpeg's 65500
      patched((bytes) => (bytes[sof + 4] = 12)), // 12-bit samples
      Buffer.concat([jpeg, Buffer.alloc(10)]), // trailing bytes after EOI
      buildPng(4, 3, 8, 3), // palette without PLTE: sharp refuses it
      buildPng(4, 3, 8, 2, [pngChunk('tRNS', Buffer.from([0, 9]))]), // tRNS of the wrong length: sharp ignores it
      buildPng(4, 3, 8, 2, [pngChunk('ABCD', Buffer.alloc(1))]), // unknown critical chunk
      buildPng(2 ** 31 - 1, 1, 8, 2), // beyond what libpng reads
      buildPng(4, 3, 8, 3, [pngChunk('tRNS', Buffer.from([0])), pngChunk('PLTE', Buffer.alloc(3))]), // tRNS before PLTE: libpng ignores it
      buildPng(4, 3, 4, 3, [pngChunk('PLTE', Buffer.alloc(17 * 3)), pngChunk('tRNS', Buffer.alloc(17))]), // libpng cuts the palette to 16, then drops tRNS
      buildPng(4, 3, 1, 0, [pngChunk('tRNS', Buffer.from([0, 5]))]), // a transparent grey a 1-bit image cannot hold
      buildPng(4, 3, 8, 2, Array.from({ length: 50_000 }, () => pngChunk('abCd', Buffer.alloc(0)))), // a walk too long for the worker
      Buffer.concat([jpeg.subarray(0, 2), Buffer.alloc(1_000 * 4, Buffer.from([0xff, 0xfe, 0, 2])), jpeg.subarray(2)]), // likewise
    ];
    for (const bytes of cases) expect(readImageHeader(bytes)).toBeUndefined();
  });

  it('answers over-limit images with probeImage’s error', async () => {
    const jpeg = await solid(3).jpeg().toBuffer();
    const sof = jpegSegment(jpeg, 0xc0);
    const hugeJpeg = Buffer.from(jpeg);
    hugeJpeg.writeUInt16BE(65_500, sof + 5);
    hugeJpeg.writeUInt16BE(65_500, sof + 7);
    const hugePng = buildPng(10_000_000, 10_000_000, 16, 6);
    for (const bytes of [hugeJpeg, hugePng]) {
      expect(readImageHeader(bytes)).toBeDefined();
      expect(() => probeHeaderInProcess(bytes, limits)).toThrow(/over the limit of 50000000/);
      await expectSameProbe(bytes);
    }
  });

  it('vouches only for damaged headers that sharp reads the same', async () => {
    const next = random(11);
    const originals = [
      await solid(3).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
      await solid(3).jpeg({ progressive: true }).toBuffer(),
      await solid(4, 0.5).png({ palette: true }).toBuffer(),
      await ramp(2).toColourspace('b-w').png().toBuffer(),
      buildPng(4, 3, 2, 3, [pngChunk('PLTE', Buffer.alloc(4 * 3)), pngChunk('tRNS', Buffer.from([0, 9])), pngChunk('iDOT', Buffer.alloc(8))]),
      buildPng(4, 3, 16, 2, [pngChunk('tRNS', Buffer.from([0, 9, 0, 9, 0, 9]))]),
    ];
    let vouched = 0;
    for (let i = 0; i < 6000; i++) {
      const bytes = Buffer.from(originals[i % originals.length]);
      // Damage the headers, where the reader looks: one to three bytes in the first 400.
      for (let flips = 1 + Math.floor(next() * 3); flips > 0; flips--) bytes[Math.floor(next() * Math.min(400, bytes.length))] = Math.floor(next() * 256);
      if (bytes[0] === 0x89 && next() < 0.7) fixPngCrcs(bytes);
      const facts = readImageHeader(bytes);
      if (!facts) continue;
      vouched += 1;
      expect(facts).toEqual(await sharpFacts(bytes));
      await expectSameProbe(bytes);
    }
    // Most single-byte damage lands in data the reader skips (EXIF values, tables' entries, pixels).
    expect(vouched).toBeGreaterThan(0);
  });
});

describe('readImageHeader on the shared corpus', () => {
  if (!hasCorpus()) {
    it('is skipped: no image corpus beside the repository', () => {
      console.log(`read-image-header corpus check skipped: ${CORPUS_DIR} is absent`);
    });
    return;
  }
  // The benchmark's photos too, when they are there: they are what the prefetch benchmark probes.
  const dirs = [CORPUS_DIR, ...(existsSync(join(BENCH_PHOTOS_DIR, 'MANIFEST.tsv')) ? [BENCH_PHOTOS_DIR] : [])];

  it.each(dirs)('vouches only for what sharp reads in %s, with the same probe', async (dir) => {
    const rows = readManifest(dir);
    const vouchedFor: string[] = [];
    for (const row of rows) {
      const bytes = readFileSync(join(dir, row.file));
      const facts = readImageHeader(bytes);
      if (!facts) continue;
      vouchedFor.push(row.file);
      expect({ file: row.file, facts }).toEqual({ file: row.file, facts: await sharpFacts(bytes) });
      await expectSameProbe(bytes);
    }
    console.log(`read-image-header vouched for ${vouchedFor.length} of ${rows.length} files in ${dir}: ${vouchedFor.join(', ')}`);
    expect(vouchedFor.length).toBeGreaterThan(0);
  });
});
