import type { Validators } from './conditional-request';

/** What a GET with `Range` gets: the whole representation, one slice of it, or 416. */
export type RangeAnswer = { kind: 'whole' } | { kind: 'part'; start: number; end: number } | { kind: 'unsatisfiable' };

export interface RangeHeaders {
  range?: string;
  ifRange?: string;
}

const WHOLE: RangeAnswer = { kind: 'whole' };

/**
 * If-Range names the representation the client holds part of: a strong entity tag (weak ones
 * never match) or exactly the Last-Modified date. Any other answer sends the whole thing, so the
 * client never stitches parts of two versions together (RFC 9110 §13.1.5).
 */
function ifRangeHolds(ifRange: string | undefined, validators: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === validators.etag && !value.startsWith('W/');
  const date = Date.parse(value);
  return !Number.isNaN(date) && Math.floor(date / 1000) === Math.floor(validators.lastModified.getTime() / 1000);
}

/**
 * The byte range a GET asks for (RFC 9110 §14.2): one `bytes=first-last`, `first-` or `-suffix`
 * range. Several ranges, other units or a malformed header are ignored (the whole
 * representation is an allowed answer to any of them); a range that starts past the end is 416.
 * Evaluated after the conditional headers: a 304 wins over a range.
 */
export function byteRangeOf(headers: RangeHeaders, validators: Validators, size: number): RangeAnswer {
  if (headers.range === undefined || !ifRangeHolds(headers.ifRange, validators)) return WHOLE;
  const match = /^bytes=(\d*)-(\d*)$/.exec(headers.range.replace(/\s+/g, ''));
  if (!match || (match[1] === '' && match[2] === '')) return WHOLE;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'part', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const last = match[2] === '' ? Infinity : Number(match[2]);
  if (last < start) return WHOLE;
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'part', start, end: Math.min(last, size - 1) };
}
