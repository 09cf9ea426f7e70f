/** Image formats we decode, by the magic bytes at the start of the file. */
export const ACCEPTED_FORMATS = ['jpeg', 'png', 'webp', 'gif', 'heif', 'tiff', 'svg'] as const;
export type AcceptedFormat = (typeof ACCEPTED_FORMATS)[number];

export type SniffResult =
  | { accepted: true; format: AcceptedFormat }
  | { accepted: false; format: string | null };

const HEIF_BRANDS = new Set(['avif', 'avis', 'heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

function startsWith(bytes: Buffer, signature: number[], offset = 0): boolean {
  return bytes.length >= offset + signature.length && signature.every((byte, i) => bytes[offset + i] === byte);
}

function ascii(bytes: Buffer, start: number, end: number): string {
  return bytes.subarray(start, Math.min(end, bytes.length)).toString('latin1');
}

function looksLikeSvg(bytes: Buffer): boolean {
  const head = ascii(bytes, 0, 4096).replace(/^\uFEFF|^\xEF\xBB\xBF/, '').trimStart();
  if (!head.startsWith('<')) return false;
  return /<svg[\s>]/i.test(head) && (/^<svg[\s>]/i.test(head) || /^<\?xml/i.test(head) || /^<!(--|DOCTYPE)/i.test(head));
}

/**
 * Tells the format from the bytes, never from the URL or the origin's Content-Type (origins lie:
 * a PNG named .jpg, HTML error pages labelled image/jpeg). Recognised-but-refused formats are
 * named so the client learns why.
 */
export function sniffFormat(bytes: Buffer): SniffResult {
  // libvips takes the start-of-image marker alone for a JPEG: damaged right after it is a corrupt JPEG (422), not another format.
  if (startsWith(bytes, [0xff, 0xd8])) return { accepted: true, format: 'jpeg' };
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { accepted: true, format: 'png' };
  if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return { accepted: true, format: 'gif' };
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return { accepted: true, format: 'webp' };
  if (ascii(bytes, 4, 8) === 'ftyp' && HEIF_BRANDS.has(ascii(bytes, 8, 12))) return { accepted: true, format: 'heif' };
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return { accepted: true, format: 'tiff' };
  }
  if (looksLikeSvg(bytes)) return { accepted: true, format: 'svg' };

  if (startsWith(bytes, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20]) || startsWith(bytes, [0xff, 0x4f, 0xff, 0x51])) {
    return { accepted: false, format: 'JPEG 2000' };
  }
  if (startsWith(bytes, [0xff, 0x0a]) || ascii(bytes, 4, 8) === 'JXL ') return { accepted: false, format: 'JPEG XL' };
  if (ascii(bytes, 0, 2) === 'BM') return { accepted: false, format: 'BMP' };
  if (startsWith(bytes, [0x00, 0x00, 0x01, 0x00])) return { accepted: false, format: 'ICO' };
  if (ascii(bytes, 0, 4) === '8BPS') return { accepted: false, format: 'PSD' };
  if (ascii(bytes, 0, 5) === '%PDF-') return { accepted: false, format: 'PDF' };
  return { accepted: false, format: null };
}
