import { parse as parseQueryString } from 'node:querystring';
import { type OutputFormat, type Transform, originalKeyOf, variantKeyOf, withEffectiveQuality } from '@image-cloud/contracts';
import { type GetImageRequest, type RequestDefaults, parseGetImageRequest, parseGetThumbnailRequest } from '@image-cloud/image-service';
import { EXPIRES_PARAM, SIGNATURE_PARAM } from '@image-cloud/tenant-auth';

/** The memory tier's name of an original's own bytes; variants go by their variant key (64 hex, never this). */
export const ORIGINAL_LEAF = 'original';

/** Parsed requests kept; a page's images are a few hundred URLs, a busy cloud's hot set some thousands. */
const MAX_KEPT = 10_000;

/** Longer URLs are parsed every time: a cache of them would hold more bytes than it saves work. */
const MAX_URL_LENGTH = 2_048;

/** Everything about a `get_image` / `get_thumbnail` URL that does not depend on the rest of the request. */
export interface HitRequest {
  route: '/get_image' | '/get_thumbnail';
  /** What authentication reads of the query (see Credentials). */
  params: Array<[string, string]>;
  signed: boolean;
  expiresAt: number;
  legacyToken: unknown;
  request: GetImageRequest;
  /** The origin URL as refuseSelfOrigins reads it. */
  origin: URL;
  originalKey: string;
  /** The stored object's name under its original, when the format is not negotiated. */
  fixedLeaf: string | undefined;
  /** Variant keys of the negotiated formats asked for so far. */
  negotiatedLeaves: Map<OutputFormat, string>;
}

export interface HitRequestOptions {
  /** Open mode: signatures are not looked at, so they do not change the defaults either. */
  open: boolean;
  signedUrlFormat: RequestDefaults['format'];
  thumbnailSizes: readonly number[];
  /** worker.quality: only an effective quality goes into a variant key. */
  quality: number;
}

/**
 * The parsed-request cache of the lean hit route, keyed by the raw URL (path and query): a
 * repeated URL skips the query parsing, zod validation, canonical-URL work and the sha256 of its
 * storage keys. Only URLs that parse are kept, so every error is still found and answered by the
 * express chain, exactly as before.
 */
export class HitRequests {
  private readonly kept = new Map<string, HitRequest>();

  constructor(private readonly options: HitRequestOptions) {}

  /** The parsed request, or undefined when the URL is not a well-formed image request (the express chain answers it). */
  get(url: string): HitRequest | undefined {
    const known = this.kept.get(url);
    if (known !== undefined) return known;
    const parsed = this.parse(url);
    if (parsed === undefined || url.length > MAX_URL_LENGTH) return parsed;
    // Oldest first out: a Map iterates in insertion order.
    if (this.kept.size >= MAX_KEPT) this.kept.delete(this.kept.keys().next().value!);
    this.kept.set(url, parsed);
    return parsed;
  }

  /** The stored object's name for a negotiated format. */
  leafFor(hit: HitRequest, format: OutputFormat): string {
    let leaf = hit.negotiatedLeaves.get(format);
    if (leaf === undefined) {
      leaf = this.variantKeyOf(hit.request.url, { ...hit.request.transform!, format });
      hit.negotiatedLeaves.set(format, leaf);
    }
    return leaf;
  }

  private parse(url: string): HitRequest | undefined {
    const queryAt = url.indexOf('?');
    const route = url.slice(0, queryAt);
    // A fragment sends express's URL parsing down its slow path: leave such oddities to it.
    if ((route !== '/get_image' && route !== '/get_thumbnail') || url.includes('#')) return undefined;
    const query = parseQueryString(url.slice(queryAt + 1));
    const origin = typeof query['url'] === 'string' && URL.canParse(query['url']) ? new URL(query['url']) : undefined;
    if (origin === undefined) return undefined;
    const searchParams = new URL(url, 'http://cloud').searchParams;
    const signed = searchParams.has(SIGNATURE_PARAM);
    const defaults: RequestDefaults = { format: signed && !this.options.open ? this.options.signedUrlFormat : 'jpeg' };
    let request: GetImageRequest;
    try {
      request = route === '/get_image' ? parseGetImageRequest(query, defaults) : parseGetThumbnailRequest(query, this.options.thumbnailSizes, defaults);
    } catch {
      return undefined;
    }
    if (request.noImage) return undefined;
    return {
      route,
      params: [...searchParams],
      signed,
      expiresAt: Number(searchParams.get(EXPIRES_PARAM)),
      legacyToken: query['token'],
      request,
      origin,
      originalKey: originalKeyOf(request.url),
      fixedLeaf: request.transform === null ? ORIGINAL_LEAF : request.negotiateFormat ? undefined : this.variantKeyOf(request.url, request.transform),
      negotiatedLeaves: new Map(),
    };
  }

  private variantKeyOf(url: string, transform: Transform): string {
    return variantKeyOf(url, withEffectiveQuality(transform, this.options.quality));
  }
}
