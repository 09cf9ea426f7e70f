import type { IncomingMessage, ServerResponse } from 'node:http';
import { imageCacheControl, isNotModified } from '@image-cloud/http-caching';
import { formatFromAccept } from '@image-cloud/image-service';
import type { Logger } from '@image-cloud/logger';
import type { MemoryTier, TierEntry } from '@image-cloud/memory-tier';
import type { ServerMetrics } from '@image-cloud/metrics';
import type { RateDecision } from '@image-cloud/tenant-auth';
import { type AuthOptions, type Identity, identify } from './authenticate';
import type { HitRequest, HitRequests } from './hit-requests';
import type { SelfOrigins } from './refuse-self-origins';
import { CLIENT_CLOSED, recordRequest, requestIdFrom } from './request-log';
import type { HotObject } from './send-stored';
import type { ShutdownDrain } from './shutdown-drain';

export interface LeanHitRouteDeps {
  /** Everything the lean route does not answer itself goes here unchanged: the express app. */
  fallback: (req: IncomingMessage, res: ServerResponse) => void;
  tier: MemoryTier<HotObject>;
  requests: HitRequests;
  auth: AuthOptions;
  selfOrigins: SelfOrigins;
  drain: ShutdownDrain;
  logger: Logger;
  metrics: ServerMetrics;
  /** server.imageMaxAgeSeconds */
  maxAgeSeconds: number;
}

/** What a lean answer's log line needs once its connection is done with it. */
interface LeanHit {
  owner: LeanHitRoute;
  method: string;
  route: string;
  requestId: string;
  path: string;
  lane: string;
  started: bigint;
}

/** A lean answer carries its note, so its close listener is one shared function rather than a closure per hit. */
type HitResponse = ServerResponse & { leanHit?: LeanHit };

function onLeanHitClosed(this: HitResponse): void {
  const hit = this.leanHit!;
  hit.owner.record(this, hit);
}

/** One array for every answer's headers: writeHead reads it synchronously and keeps nothing of it. */
const headers: string[] = [];

/**
 * The server's request listener: answers GET and HEAD hits of get_image and get_thumbnail from
 * the memory tier itself, with the headers, log line and metrics the express chain would give
 * them, and hands every other request to the express app unchanged: anything the tier does not
 * hold, anything that fails (authentication, the rate limit, parameters, an origin that is this
 * cloud), ranges, negotiation that needs the image's alpha, a draining server. Whatever the lean
 * route hands over, it has neither answered nor taken a rate-limit token for.
 */
export class LeanHitRoute {
  constructor(private readonly deps: LeanHitRouteDeps) {}

  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const { deps } = this;
    const url = req.url!;
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.headers.range !== undefined || deps.drain.isDraining || !deps.tier.enabled) return deps.fallback(req, res);
    const hit = url.startsWith('/get_image?') || url.startsWith('/get_thumbnail?') ? deps.requests.get(url) : undefined;
    if (hit === undefined) return deps.fallback(req, res);

    let identity: Identity | undefined;
    if (!deps.auth.directory.isOpen) {
      try {
        identity = identify(
          {
            method: req.method,
            pathname: hit.route,
            params: hit.params,
            signed: hit.signed,
            expiresAt: hit.expiresAt,
            authorization: req.headers.authorization,
            legacyToken: hit.legacyToken,
          },
          deps.auth,
        );
      } catch {
        return deps.fallback(req, res);
      }
    }
    let leaf = hit.fixedLeaf;
    if (leaf === undefined) {
      // Without AVIF or WebP in Accept, the image's alpha decides: the express chain looks it up.
      const format = formatFromAccept(req.headers.accept);
      if (format === undefined) return deps.fallback(req, res);
      leaf = deps.requests.leafFor(hit, format);
    }
    const entry = deps.tier.get(hit.originalKey, leaf);
    if (entry === undefined || deps.selfOrigins.refuses(hit.origin, req.socket)) return deps.fallback(req, res);
    if (identity === undefined) return this.answer(req, res as HitResponse, hit, entry, undefined, started);

    // The token is taken only now that the answer is certain; a refusal or a Redis error is left to
    // the express chain, which answers it as always (its own take finds the bucket as empty).
    const { tenant } = identity;
    const answerIfAllowed = (decision: RateDecision) => {
      if (decision.allowed) this.answer(req, res as HitResponse, hit, entry, identity, started);
      else deps.fallback(req, res);
    };
    deps.auth.limiter.take(tenant.name, tenant.requestsPerSecond, tenant.burst).then(answerIfAllowed, () => deps.fallback(req, res));
  };

  /** Logs and counts a lean answer as the request log does its requests. */
  record(res: HitResponse, hit: LeanHit): void {
    recordRequest(this.deps.logger, this.deps.metrics, {
      requestId: hit.requestId,
      method: hit.method,
      route: hit.route,
      path: hit.path,
      status: res.writableFinished ? res.statusCode : CLIENT_CLOSED,
      code: undefined,
      cache: 'hit',
      lane: hit.lane,
      seconds: Number(process.hrtime.bigint() - hit.started) / 1e9,
    });
  }

  /** sendStored's answer from memory: 304 when the client's copy is current, else the bytes (none for HEAD), in one write. */
  private answer(req: IncomingMessage, res: HitResponse, hit: HitRequest, entry: TierEntry<HotObject>, identity: Identity | undefined, started: bigint): void {
    const object = entry.meta;
    const leanHit: LeanHit = {
      owner: this,
      method: req.method!,
      route: hit.route,
      requestId: requestIdFrom(req.headers['x-request-id']),
      path: req.url!,
      lane: object.lane,
      started,
    };
    res.leanHit = leanHit;
    // A client gone while the rate limit was asked: logged as the express chain logs it.
    if (res.destroyed) return this.record(res, leanHit);
    res.on('close', onLeanHitClosed);

    const ifNoneMatch = req.headers['if-none-match'];
    const ifModifiedSince = req.headers['if-modified-since'];
    const notModified = (ifNoneMatch !== undefined || ifModifiedSince !== undefined) && isNotModified({ ifNoneMatch, ifModifiedSince }, object.validators);
    const cacheControl = imageCacheControl({
      signedUntil: identity?.signedUntil,
      bearer: identity?.bearer === true,
      nowSeconds: Math.floor(Date.now() / 1000),
      versioned: hit.request.version !== undefined,
      maxAgeSeconds: this.deps.maxAgeSeconds,
    });
    headers.length = 0;
    headers.push('X-Request-Id', leanHit.requestId);
    if (hit.fixedLeaf === undefined) headers.push('Vary', 'Accept');
    pushAll(headers, object.validatorHeaders);
    headers.push('Cache-Control', cacheControl);
    pushAll(headers, object.cacheHeaders);
    if (!notModified) pushAll(headers, object.entityHeaders);
    res.writeHead(notModified ? 304 : 200, headers);
    if (notModified || req.method === 'HEAD') res.end();
    else res.end(entry.bytes);
  }
}

function pushAll(target: string[], values: readonly string[]): void {
  for (let i = 0; i < values.length; i++) target.push(values[i]);
}
