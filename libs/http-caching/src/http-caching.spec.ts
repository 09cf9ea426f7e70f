import { byteRangeOf, errorCacheControl, httpDate, imageCacheControl, isNotModified } from './index';

const ETAG = '"0123abcd"';
const MADE = new Date('2026-11-30T12:00:00.000Z');
const validators = { etag: ETAG, lastModified: MADE };

describe('isNotModified (RFC 9110 §13.2.2)', () => {
  it('compares If-None-Match weakly: W/ on either side, lists, and * all match', () => {
    for (const ifNoneMatch of [ETAG, `W/${ETAG}`, `"other", ${ETAG}`, `"x,y", W/${ETAG}`, '*']) {
      expect({ ifNoneMatch, notModified: isNotModified({ ifNoneMatch }, validators) }).toEqual({ ifNoneMatch, notModified: true });
    }
    expect(isNotModified({ ifNoneMatch: ETAG }, { ...validators, etag: `W/${ETAG}` })).toBe(true);
    for (const ifNoneMatch of ['"other"', '"0123abc"', 'W/"0123abcd0"', '']) expect(isNotModified({ ifNoneMatch }, validators)).toBe(false);
  });

  it('lets If-None-Match decide whenever it is present, whatever If-Modified-Since says', () => {
    const later = 'Tue, 01 Dec 2026 00:00:00 GMT';
    const earlier = 'Sun, 29 Nov 2026 00:00:00 GMT';
    expect(isNotModified({ ifNoneMatch: '"other"', ifModifiedSince: later }, validators)).toBe(false);
    expect(isNotModified({ ifNoneMatch: ETAG, ifModifiedSince: earlier }, validators)).toBe(true);
  });

  it('uses If-Modified-Since alone at whole seconds, and ignores a date that does not parse', () => {
    expect(isNotModified({ ifModifiedSince: httpDate(MADE) }, { ...validators, lastModified: new Date(MADE.getTime() + 999) })).toBe(true);
    expect(isNotModified({ ifModifiedSince: 'Tue, 01 Dec 2026 00:00:00 GMT' }, validators)).toBe(true);
    expect(isNotModified({ ifModifiedSince: 'Sun, 29 Nov 2026 00:00:00 GMT' }, validators)).toBe(false);
    expect(isNotModified({ ifModifiedSince: 'yesterday' }, validators)).toBe(false);
    expect(isNotModified({}, validators)).toBe(false);
  });
});

describe('imageCacheControl', () => {
  const now = 1_800_000_000;
  it('keeps an ordinary URL for max-age and serves it stale while revalidating', () => {
    expect(imageCacheControl({ bearer: false, nowSeconds: now, versioned: false, maxAgeSeconds: 86_400 })).toBe(
      'public, max-age=86400, stale-while-revalidate=86400',
    );
  });

  it('makes a versioned URL immutable for a year, and a signed one immutable until its expiry, never beyond', () => {
    expect(imageCacheControl({ bearer: false, nowSeconds: now, versioned: true, maxAgeSeconds: 60 })).toBe('public, max-age=31536000, immutable');
    expect(imageCacheControl({ bearer: false, nowSeconds: now, signedUntil: now + 600, versioned: false, maxAgeSeconds: 86_400 })).toBe(
      'public, max-age=600, immutable',
    );
    expect(imageCacheControl({ bearer: false, nowSeconds: now, signedUntil: now + 600, versioned: true, maxAgeSeconds: 86_400 })).toBe(
      'public, max-age=600, immutable',
    );
    expect(imageCacheControl({ bearer: false, nowSeconds: now, signedUntil: now, versioned: false, maxAgeSeconds: 86_400 })).toBe('no-cache');
  });

  it('keeps an answer to a bearer token out of shared caches', () => {
    expect(imageCacheControl({ bearer: true, nowSeconds: now, versioned: false, maxAgeSeconds: 100 })).toBe('private, max-age=100, stale-while-revalidate=100');
  });
});

describe('errorCacheControl', () => {
  const base = { bearer: false, nowSeconds: 1_800_000_000, negativeCacheSeconds: 45 };
  it('caches a 503 for at least a minute, a final failure for the negative cache time, nothing else', () => {
    expect(errorCacheControl({ ...base, status: 503, negativelyCacheable: false })).toBe('public, max-age=60');
    expect(errorCacheControl({ ...base, negativeCacheSeconds: 120, status: 503, negativelyCacheable: false })).toBe('public, max-age=120');
    expect(errorCacheControl({ ...base, status: 404, negativelyCacheable: true })).toBe('public, max-age=45');
    expect(errorCacheControl({ ...base, negativeCacheSeconds: 0, status: 422, negativelyCacheable: true })).toBe('no-store');
    expect(errorCacheControl({ ...base, status: 400, negativelyCacheable: false })).toBe('no-store');
    expect(errorCacheControl({ ...base, status: 429, negativelyCacheable: false })).toBe('no-store');
  });

  it('never caches an error beyond a signed URL\'s expiry', () => {
    expect(errorCacheControl({ ...base, signedUntil: base.nowSeconds + 10, status: 404, negativelyCacheable: true })).toBe('public, max-age=10');
  });
});

describe('byteRangeOf (RFC 9110 §14.2)', () => {
  const size = 1000;
  it('reads first-last, first- and -suffix, clamped to the representation', () => {
    expect(byteRangeOf({ range: 'bytes=0-99' }, validators, size)).toEqual({ kind: 'part', start: 0, end: 99 });
    expect(byteRangeOf({ range: 'bytes=900-' }, validators, size)).toEqual({ kind: 'part', start: 900, end: 999 });
    expect(byteRangeOf({ range: 'bytes=-10' }, validators, size)).toEqual({ kind: 'part', start: 990, end: 999 });
    expect(byteRangeOf({ range: 'bytes=-5000' }, validators, size)).toEqual({ kind: 'part', start: 0, end: 999 });
    expect(byteRangeOf({ range: 'bytes=990-5000' }, validators, size)).toEqual({ kind: 'part', start: 990, end: 999 });
  });

  it('answers a range past the end 416, and ignores what it does not serve (several ranges, other units, nonsense)', () => {
    expect(byteRangeOf({ range: 'bytes=1000-' }, validators, size)).toEqual({ kind: 'unsatisfiable' });
    expect(byteRangeOf({ range: 'bytes=-0' }, validators, size)).toEqual({ kind: 'unsatisfiable' });
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=5-1', 'bytes=-', 'bytes=a-b']) {
      expect({ range, answer: byteRangeOf({ range }, validators, size) }).toEqual({ range, answer: { kind: 'whole' } });
    }
    expect(byteRangeOf({}, validators, size)).toEqual({ kind: 'whole' });
  });

  it('honours If-Range only for the current strong tag or the exact Last-Modified', () => {
    const range = 'bytes=0-9';
    expect(byteRangeOf({ range, ifRange: ETAG }, validators, size).kind).toBe('part');
    expect(byteRangeOf({ range, ifRange: httpDate(MADE) }, validators, size).kind).toBe('part');
    for (const ifRange of ['"stale"', `W/${ETAG}`, 'Sun, 29 Nov 2026 00:00:00 GMT', 'garbage']) {
      expect({ ifRange, kind: byteRangeOf({ range, ifRange }, validators, size).kind }).toEqual({ ifRange, kind: 'whole' });
    }
  });
});
