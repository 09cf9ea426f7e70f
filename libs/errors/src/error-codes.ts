/**
 * The registry of every error the image cloud answers with: HTTP status, the stable `error` code
 * clients see (the README's error table), whether the work may succeed if tried again, and whether
 * the answer is final for the image so it may be remembered briefly (negative caching, by us and
 * by HTTP caches). A test keeps this table and the README's in step, both ways.
 */
export const ERROR_CODES = {
  bad_parameter: { status: 400, retryable: false },
  unauthorized: { status: 401, retryable: false },
  forbidden: { status: 403, retryable: false },
  bad_signature: { status: 403, retryable: false },
  origin_forbidden: { status: 403, retryable: false },
  origin_not_found: { status: 404, retryable: false, negativeCache: true },
  not_cached: { status: 404, retryable: false },
  not_found: { status: 404, retryable: false },
  method_not_allowed: { status: 405, retryable: false },
  payload_too_large: { status: 413, retryable: false },
  range_not_satisfiable: { status: 416, retryable: false },
  unsupported_format: { status: 415, retryable: false, negativeCache: true },
  image_corrupt: { status: 422, retryable: false, negativeCache: true },
  image_too_large: { status: 422, retryable: false, negativeCache: true },
  rate_limited: { status: 429, retryable: true },
  internal_error: { status: 500, retryable: true },
  origin_error: { status: 502, retryable: true },
  overloaded: { status: 503, retryable: true },
  unavailable: { status: 503, retryable: true },
  origin_timeout: { status: 504, retryable: true },
  processing_timeout: { status: 504, retryable: true },
  insufficient_storage: { status: 507, retryable: true },
} as const satisfies Record<string, { status: number; retryable: boolean; negativeCache?: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** True when a failure with this code is final for the image and may be served again for a while. */
export function isNegativelyCacheable(code: ErrorCode): boolean {
  return 'negativeCache' in ERROR_CODES[code];
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}
