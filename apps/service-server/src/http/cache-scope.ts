import type { Response } from 'express';
import type { RequestScope } from '@image-cloud/http-caching';

/** What authentication learnt that decides how long and by whom an answer may be cached. */
interface CacheFacts {
  signedUntil?: number;
  bearer?: boolean;
}

function factsOf(res: Response): CacheFacts {
  return (res.locals['cacheFacts'] ??= {}) as CacheFacts;
}

/** A verified signed URL expiring at `expiresAt` (Unix seconds): no answer to it outlives the signature. */
export function noteSignedUntil(res: Response, expiresAt: number): void {
  factsOf(res).signedUntil = expiresAt;
}

/** The tenant came with an Authorization header, which shared caches do not key on. */
export function noteBearer(res: Response): void {
  factsOf(res).bearer = true;
}

export function cacheScopeOf(res: Response): RequestScope {
  const facts = factsOf(res);
  return { signedUntil: facts.signedUntil, bearer: facts.bearer === true, nowSeconds: Math.floor(Date.now() / 1000) };
}
