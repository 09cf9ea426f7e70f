import type { Request, RequestHandler, Response } from 'express';
import { ImageCloudError } from '@image-cloud/errors';
import type { Logger } from '@image-cloud/logger';
import { EXPIRES_PARAM, SIGNATURE_PARAM, type Tenant, type TenantDirectory, type TenantRateLimiter, verifySignedRequest } from '@image-cloud/tenant-auth';
import { noteBearer, noteSignedUntil } from './cache-scope';

export interface AuthOptions {
  directory: TenantDirectory;
  signingKeys: readonly string[];
  limiter: TenantRateLimiter;
  logger: Logger;
  /** Paths whose GET requests may come as signed URLs (browsers) instead of with a token. */
  signedPaths: readonly string[];
  /** Longest a signed URL may live. */
  signedUrlMaxLifetimeSeconds: number;
}

/** res.locals flag: the tenant's rate could not be checked (Redis did not answer the limiter). */
const RATE_UNCHECKED = 'rateUnchecked';

/** Seconds a client is asked to wait when its rate could not be checked. */
const RATE_UNCHECKED_RETRY_AFTER_SECONDS = 5;

/**
 * The error for work beyond a hit (a miss, a prefetch) when the tenant's rate could not be checked,
 * or undefined when it was: a limit that cannot be kept is kept closed for anything that costs.
 */
export function missesRefusedFor(res: Response): ImageCloudError | undefined {
  if (res.locals[RATE_UNCHECKED] !== true) return undefined;
  return new ImageCloudError('unavailable', `The rate limit of tenant "${String(res.locals['tenant'])}" cannot be checked (Redis does not answer); only cached images are served.`, {
    retryAfterSeconds: RATE_UNCHECKED_RETRY_AFTER_SECONDS,
  });
}

function bearerToken(req: Request): string | undefined {
  return tokenOf(req.headers.authorization, req.query['token']);
}

/** The token of an Authorization header (when there is one), else of the legacy token= parameter. */
function tokenOf(authorization: string | undefined, legacy: unknown): string | undefined {
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? match[1] : undefined;
  }
  return typeof legacy === 'string' && legacy !== '' ? legacy : undefined;
}

/** What a request shows of who it is. */
export interface Credentials {
  method: string | undefined;
  pathname: string;
  /** The query's parameters in order, as URLSearchParams reads them (a signature covers them). */
  params: Array<[string, string]>;
  /** The query has a signature parameter. */
  signed: boolean;
  /** The signed URL's expiry parameter, as a number. */
  expiresAt: number;
  authorization: string | undefined;
  /** The legacy token= parameter as the query parser read it. */
  legacyToken: unknown;
}

/** Who a request is, and what that means for caching its answer. */
export interface Identity {
  tenant: Tenant;
  /** A verified signed URL's expiry (Unix seconds). */
  signedUntil?: number;
  /** The token came in an Authorization header. */
  bearer: boolean;
}

/** The tenant of a request with a token or a signed URL; throws the error to answer otherwise. */
export function identify(credentials: Credentials, options: AuthOptions): Identity {
  if (credentials.signed) {
    const signable = (credentials.method === 'GET' || credentials.method === 'HEAD') && options.signedPaths.includes(credentials.pathname);
    if (!signable) throw new ImageCloudError('bad_signature', 'Signed URLs are only accepted for image GET requests.');
    const check = verifySignedRequest(credentials.pathname, credentials.params, options.signingKeys, Math.floor(Date.now() / 1000), options.signedUrlMaxLifetimeSeconds);
    if (!check.ok) throw new ImageCloudError('bad_signature', check.reason);
    const tenant = options.directory.byName(check.tenant);
    if (!tenant) throw new ImageCloudError('bad_signature', 'The signed URL names a tenant this cloud does not know.');
    return { tenant, signedUntil: credentials.expiresAt, bearer: false };
  }
  const token = tokenOf(credentials.authorization, credentials.legacyToken);
  if (!token) {
    throw new ImageCloudError('unauthorized', 'This image cloud needs a token: send "Authorization: Bearer <token>" or the token parameter, or use a signed URL.');
  }
  const tenant = options.directory.byToken(token);
  if (!tenant) throw new ImageCloudError('forbidden', 'The token is not valid for this image cloud.');
  return { tenant, bearer: Boolean(credentials.authorization) };
}

/** The credentials of a request, from its URL as the client sent it. */
export function credentialsOf(method: string | undefined, url: URL, authorization: string | undefined, legacyToken: unknown): Credentials {
  return {
    method,
    pathname: url.pathname,
    params: [...url.searchParams],
    signed: url.searchParams.has(SIGNATURE_PARAM),
    expiresAt: Number(url.searchParams.get(EXPIRES_PARAM)),
    authorization,
    legacyToken,
  };
}

function tenantOf(req: Request, res: Response, options: AuthOptions): Tenant {
  const url = new URL(req.originalUrl, 'http://cloud');
  const identity = identify(credentialsOf(req.method, url, req.headers.authorization, req.query['token']), options);
  if (identity.signedUntil !== undefined) noteSignedUntil(res, identity.signedUntil);
  if (identity.bearer) noteBearer(res);
  return identity.tenant;
}

/**
 * Who is asking (token, legacy token= or signed URL) and whether their rate allows it. Open mode
 * (no tenants configured) lets everything through. The tenant lands in res.locals.tenant.
 */
export function authenticate(options: AuthOptions): RequestHandler {
  return async (req, res, next) => {
    if (options.directory.isOpen) return next();
    const tenant = tenantOf(req, res, options);
    res.locals['tenant'] = tenant.name;
    let decision;
    try {
      decision = await options.limiter.take(tenant.name, tenant.requestsPerSecond, tenant.burst);
    } catch (error) {
      // Without Redis the limit cannot be kept: fail closed for what costs (misses, prefetches) and
      // let hits through, which cost a disk read (see missesRefusedFor).
      options.logger.debug('rate limiter unavailable: only hits are served', { error: (error as Error).message });
      res.locals[RATE_UNCHECKED] = true;
      return next();
    }
    if (!decision.allowed) {
      throw new ImageCloudError('rate_limited', `Tenant "${tenant.name}" is over its rate of ${tenant.requestsPerSecond} requests per second.`, {
        retryAfterSeconds: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
      });
    }
    next();
  };
}

/**
 * delete_image removes an image from a cache every tenant shares: it needs an admin token
 * (`adminTokens`); a tenant's token gets 403. In open mode without admin tokens it stays open,
 * like everything else.
 */
export function requireAdmin(directory: TenantDirectory): RequestHandler {
  return (req, _res, next) => {
    if (directory.isOpen && !directory.hasAdmins) return next();
    if (req.query[SIGNATURE_PARAM] !== undefined) throw new ImageCloudError('bad_signature', 'Signed URLs are only accepted for image GET requests.');
    const token = bearerToken(req);
    if (!token) throw new ImageCloudError('unauthorized', 'delete_image needs an admin token: send "Authorization: Bearer <admin token>".');
    if (!directory.isAdmin(token)) throw new ImageCloudError('forbidden', 'delete_image needs an admin token; this token may not delete images.');
    next();
  };
}
