/** A year: what `immutable` answers may be kept for (RFC 9111 caches treat more as a year anyway). */
export const IMMUTABLE_MAX_AGE_SECONDS = 31_536_000;

/** Policy 5, overload is answered early: 503s are cacheable for at least a minute, so refreshes do not amplify overload. */
export const MIN_OVERLOAD_MAX_AGE_SECONDS = 60;

/** Who asked, as far as caching goes. */
export interface RequestScope {
  /** Unix seconds a verified signed URL expires at: nothing may be cached beyond it. */
  signedUntil?: number;
  /**
   * The request carried its token in an Authorization header. A shared cache keys on the URL,
   * not on that header, so it would hand the answer to anyone asking the same URL without a
   * token: the answer is for the requester's own cache only.
   */
  bearer: boolean;
  nowSeconds: number;
}

function visibility(scope: RequestScope): string {
  return scope.bearer ? 'private' : 'public';
}

/** Seconds a signed URL has left, or undefined for unsigned requests. */
function secondsLeft(scope: RequestScope): number | undefined {
  return scope.signedUntil === undefined ? undefined : Math.max(0, scope.signedUntil - scope.nowSeconds);
}

/**
 * Cache-Control of an image answer (an original or a variant).
 * - A signed URL with an expiry, or a versioned URL (`v=`: the page changes it when it wants
 *   other bytes), names bytes that will not change while it is valid: `immutable`, kept for a
 *   year, but never beyond the signature's expiry.
 * - Any other URL may change (the original is deleted and fetched again, the pipeline changes):
 *   kept for `maxAgeSeconds`, then served stale for as long again while a cache revalidates.
 */
export function imageCacheControl(scope: RequestScope & { versioned: boolean; maxAgeSeconds: number }): string {
  const left = secondsLeft(scope);
  if (left !== undefined || scope.versioned) {
    const maxAge = Math.min(IMMUTABLE_MAX_AGE_SECONDS, left ?? IMMUTABLE_MAX_AGE_SECONDS);
    return maxAge > 0 ? `${visibility(scope)}, max-age=${maxAge}, immutable` : 'no-cache';
  }
  return `${visibility(scope)}, max-age=${scope.maxAgeSeconds}, stale-while-revalidate=${scope.maxAgeSeconds}`;
}

/**
 * Cache-Control of an error answer: a 503 for at least a minute (policy 5), an answer that is
 * final for the image (the registry's `negativeCache`, or a big-lane timeout) for the negative
 * cache time, which is how long the cloud itself remembers it; everything else is `no-store`.
 * Never beyond a signed URL's expiry.
 */
export function errorCacheControl(
  scope: RequestScope & { status: number; negativelyCacheable: boolean; negativeCacheSeconds: number },
): string {
  const wanted =
    scope.status === 503
      ? Math.max(MIN_OVERLOAD_MAX_AGE_SECONDS, scope.negativeCacheSeconds)
      : scope.negativelyCacheable
        ? scope.negativeCacheSeconds
        : 0;
  const maxAge = Math.min(wanted, secondsLeft(scope) ?? wanted);
  return maxAge > 0 ? `${visibility(scope)}, max-age=${maxAge}` : 'no-store';
}
