import { ImageCloudError } from '@image-cloud/errors';
import { BlockedAddressError } from './blocked-address-error';
import { describeOrigin } from './describe-origin';
import { mapFetchError } from './map-fetch-error';
import { mapOriginStatus } from './map-origin-status';
import { MAX_RETRY_AFTER_SECONDS, parseRetryAfter } from './parse-retry-after';

const errno = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(code), { code, ...extra });

describe('mapFetchError', () => {
  it.each([
    ['ECONNREFUSED', 'origin_error', 502, true],
    ['ECONNRESET', 'origin_error', 502, true],
    ['ENOTFOUND', 'origin_error', 502, true],
    ['EAI_AGAIN', 'origin_error', 502, true],
    ['EHOSTUNREACH', 'origin_error', 502, true],
    ['ETIMEDOUT', 'origin_timeout', 504, true],
    ['ERR_TOO_MANY_REDIRECTS', 'origin_error', 502, false],
    ['ERR_UNSUPPORTED_PROTOCOL', 'origin_error', 502, false],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'origin_error', 502, false],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'origin_error', 502, false],
    ['HPE_INVALID_CONSTANT', 'origin_error', 502, false],
    [BlockedAddressError.CODE, 'origin_forbidden', 403, false],
    ['ESOMETHINGELSE', 'origin_error', 502, true],
  ])('%s → %s', (code, expected, status, retryable) => {
    const error = mapFetchError(errno(code), 'img.example.com/a.jpg');
    expect(error).toMatchObject({ code: expected, status, retryable });
    expect(error.message).toContain('img.example.com/a.jpg');
  });

  it('maps got timeouts by event', () => {
    const error = mapFetchError({ name: 'TimeoutError', code: 'ETIMEDOUT', event: 'response' }, 'h/p');
    expect(error.code).toBe('origin_timeout');
    expect(error.message).toBe('The origin h/p did not start answering in time.');
  });

  it('passes ImageCloudErrors through and maps non-errors', () => {
    const original = new ImageCloudError('image_too_large', 'x');
    expect(mapFetchError(original, 'h')).toBe(original);
    expect(mapFetchError(undefined, 'h').code).toBe('origin_error');
  });
});

describe('mapOriginStatus', () => {
  it.each([
    [404, 'origin_not_found', 404, false],
    [410, 'origin_not_found', 404, false],
    [401, 'origin_error', 502, false],
    [403, 'origin_error', 502, false],
    [400, 'origin_error', 502, false],
    [304, 'origin_error', 502, false],
    [408, 'origin_error', 502, true],
    [429, 'origin_error', 502, true],
    [500, 'origin_error', 502, true],
    [503, 'origin_error', 502, true],
  ])('%i → %s', (origin, code, status, retryable) => {
    expect(mapOriginStatus(origin, {}, 'h/p')).toMatchObject({ code, status, retryable });
  });

  it('carries Retry-After on retryable answers', () => {
    expect(mapOriginStatus(503, { 'retry-after': '12' }, 'h/p').retryAfterSeconds).toBe(12);
    expect(mapOriginStatus(500, {}, 'h/p').retryAfterSeconds).toBeUndefined();
  });

  it('remembers which status the origin answered, so a busy domain can be backed off', () => {
    expect(mapOriginStatus(429, {}, 'h/p').originStatus).toBe(429);
    expect(mapOriginStatus(503, {}, 'h/p').originStatus).toBe(503);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it('reads delta-seconds and HTTP-dates, caps, and ignores junk', () => {
    expect(parseRetryAfter('30', now)).toBe(30);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:01:30 GMT', now)).toBe(90);
    expect(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('999999999', now)).toBe(MAX_RETRY_AFTER_SECONDS);
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('describeOrigin', () => {
  it('keeps host and path, drops credentials, query and fragment', () => {
    expect(describeOrigin(new URL('https://user:pw@img.example.com:8443/a/b.jpg?token=secret#x'))).toBe('img.example.com:8443/a/b.jpg');
  });
  it('shortens very long paths', () => {
    expect(describeOrigin(new URL(`http://h/${'a'.repeat(500)}`)).length).toBeLessThan(140);
  });
});
