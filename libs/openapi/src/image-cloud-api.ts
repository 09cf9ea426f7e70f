import { z } from 'zod';
import { batchIdSchema, batchProgressSchema, batchReceiptSchema } from '@image-cloud/contracts';
import { ERROR_CODES, type ErrorCode } from '@image-cloud/errors';
import { getImageQuerySchema, getThumbnailQuerySchema, imageUrlQuerySchema } from '@image-cloud/image-service';
import {
  alternativeCloudsSchema,
  deleteResultSchema,
  fireAndForgetBodySchema,
  healthSchema,
  imageInfoSchema,
  originalInfoSchema,
  readinessSchema,
} from './answer-schemas';
import { type HeaderSpec, type JsonObject, type OperationSpec, type ResponseSpec, buildOpenApiDocument } from './openapi-document';

/** The HTTP API's own version: bumped when an answer or a parameter changes incompatibly. */
const API_VERSION = '1.0.0';

export interface ImageCloudApiOptions {
  /** The configured thumbnail sizes: the values `size` of get_thumbnail takes. */
  thumbnailSizes: readonly number[];
}

const string = { type: 'string' };
const integer = { type: 'integer' };

const IMAGE_HEADERS: Record<string, HeaderSpec> = {
  ETag: { description: 'Strong: the sha256 of the bytes, quoted.', schema: string },
  'Last-Modified': { description: 'When the original was downloaded or the variant rendered.', schema: string },
  'Cache-Control': { description: 'Immutable until the expiry for signed URLs, for a year for versioned ones (v=); otherwise max-age with stale-while-revalidate.', schema: string },
  'Content-Length': { description: 'Bytes of the image.', schema: integer },
  'X-Cache': { description: 'HIT: served from storage; MISS: fetched or rendered for this request.', schema: { type: 'string', enum: ['HIT', 'MISS'] } },
  'X-Lane': { description: 'Variants only: the lane that rendered it.', schema: { type: 'string', enum: ['normal', 'big'] } },
  'X-Request-Id': { description: "The caller's X-Request-Id when plausible, otherwise one made by the server.", schema: string },
  'Accept-Ranges': { description: 'bytes', schema: string },
  Vary: { description: '`Accept` exactly when the format was negotiated from it (format_when_resize=auto, or a signed URL under server.signedUrlFormat auto); absent otherwise.', schema: string },
};

const RETRY_AFTER: Record<string, HeaderSpec> = {
  'Retry-After': { description: 'Seconds to wait before trying again (429, 503).', schema: integer },
};

const IMAGE_BYTES: ResponseSpec = {
  description: 'The image: the original bytes untouched (content type sniffed from them), or the rendered variant.',
  content: { 'image/*': { type: 'string', contentMediaType: 'image/*' } },
  headers: IMAGE_HEADERS,
};

const NOT_MODIFIED: ResponseSpec = {
  description: 'The client\'s copy is current (If-None-Match, compared weakly; If-Modified-Since only without it).',
  headers: { ETag: IMAGE_HEADERS['ETag'], 'Last-Modified': IMAGE_HEADERS['Last-Modified'], 'Cache-Control': IMAGE_HEADERS['Cache-Control'], Vary: IMAGE_HEADERS['Vary'] },
};

const PARTIAL: ResponseSpec = {
  description: 'The byte range asked for (one range; several are answered with the whole image).',
  content: IMAGE_BYTES.content,
  headers: { ...IMAGE_HEADERS, 'Content-Range': { description: '`bytes <first>-<last>/<size>`', schema: string }, 'Content-Length': { description: 'Bytes of the range.', schema: integer } },
};

/** What image GETs read of the request's headers: a CDN revalidates and fetches in parts. */
const imageRequestHeaders = z.object({
  Accept: z
    .string()
    .optional()
    .meta({ description: 'Read only when the format is negotiated: image/avif, then image/webp when listed by name (q > 0); wildcards alone mean JPEG (PNG for an image with alpha).' }),
  'If-None-Match': z.string().optional().meta({ description: 'ETags the client holds (weak comparison, lists, *): 304 when one is current. Decides alone when present.' }),
  'If-Modified-Since': z.string().optional().meta({ description: 'HTTP date: 304 when the image is not newer. Ignored with If-None-Match.' }),
  Range: z.string().optional().meta({ description: 'One range, `bytes=<first>-<last>`, `bytes=<first>-` or `bytes=-<suffix>` (GET only): 206.' }),
  'If-Range': z.string().optional().meta({ description: 'The strong ETag or Last-Modified of the part the client holds: Range is honoured only while it is current.' }),
});

const json = (schema: z.ZodType, description: string): ResponseSpec => ({ description, content: { 'application/json': schema } });

/** What answering a request for an image may go wrong with: its parameters, its origin, the image, the cloud. */
const IMAGE_ERRORS: ErrorCode[] = [
  'bad_parameter',
  'origin_forbidden',
  'origin_not_found',
  'unsupported_format',
  'image_corrupt',
  'image_too_large',
  'origin_error',
  'overloaded',
  'unavailable',
  'origin_timeout',
  'processing_timeout',
  'insufficient_storage',
];
const TENANT_ERRORS: ErrorCode[] = ['unauthorized', 'forbidden', 'rate_limited'];
const SIGNED_ERRORS: ErrorCode[] = [...TENANT_ERRORS, 'bad_signature'];

/** Image GETs: a tenant's token (header or legacy parameter) or a signed URL; nothing in open mode. */
const IMAGE_SECURITY: Array<Record<string, string[]>> = [{ tenantToken: [] }, { legacyToken: [] }, { signedUrl: [] }];
const TENANT_SECURITY: Array<Record<string, string[]>> = [{ tenantToken: [] }, { legacyToken: [] }];

/** The fields a signed URL carries besides its signature (the `signedUrl` scheme). */
const signedUrlQuery = z.object({
  tenant: z.string().optional().meta({ description: 'Signed URLs: the tenant the URL was signed for.' }),
  expires: z.int().min(0).optional().meta({ description: 'Signed URLs: Unix seconds the URL expires at (at most signedUrlMaxLifetimeSeconds ahead).' }),
});

function operations(options: ImageCloudApiOptions): OperationSpec[] {
  const imageRoute = (query: z.ZodObject) => query.extend(signedUrlQuery.shape);
  return [
    {
      method: 'get',
      path: '/get_image',
      operationId: 'getImage',
      summary: 'An image, resized and converted, or its original',
      description: 'Without resize_width and resize_height the original bytes are answered untouched. With no_image=true the answer is the original\'s metadata as JSON. Unknown parameters are ignored, except a name within two edits of a known one (400).',
      tags: ['images'],
      query: imageRoute(getImageQuerySchema),
      headers: imageRequestHeaders,
      responses: { '200': { ...IMAGE_BYTES, content: { ...IMAGE_BYTES.content, 'application/json': originalInfoSchema } }, '206': PARTIAL, '304': NOT_MODIFIED },
      errors: [...IMAGE_ERRORS, 'not_cached', 'range_not_satisfiable', ...SIGNED_ERRORS],
      errorHeaders: RETRY_AFTER,
      security: IMAGE_SECURITY,
    },
    {
      method: 'get',
      path: '/get_thumbnail',
      operationId: 'getThumbnail',
      summary: 'A square-box JPEG thumbnail of one of the configured sizes',
      tags: ['images'],
      query: imageRoute(getThumbnailQuerySchema(options.thumbnailSizes)),
      headers: imageRequestHeaders,
      responses: { '200': IMAGE_BYTES, '206': PARTIAL, '304': NOT_MODIFIED },
      errors: [...IMAGE_ERRORS, 'not_cached', 'range_not_satisfiable', ...SIGNED_ERRORS],
      errorHeaders: RETRY_AFTER,
      security: IMAGE_SECURITY,
    },
    {
      method: 'get',
      path: '/image_info',
      operationId: 'getImageInfo',
      summary: "The original's size, format and frames, and placeholders to lay it out before it loads",
      tags: ['images'],
      query: imageRoute(imageUrlQuerySchema),
      responses: { '200': json(imageInfoSchema, 'Width and height as displayed (EXIF orientation applied), alpha, dominant colour and ThumbHash (computed once per original).') },
      errors: [...IMAGE_ERRORS, ...SIGNED_ERRORS],
      errorHeaders: RETRY_AFTER,
      security: IMAGE_SECURITY,
    },
    {
      method: 'delete',
      path: '/delete_image',
      operationId: 'deleteImage',
      summary: 'Removes the original and every variant, and forgets remembered failures',
      tags: ['images'],
      query: imageUrlQuerySchema,
      responses: { '200': json(deleteResultSchema, 'What was removed.') },
      errors: ['bad_parameter', 'unauthorized', 'forbidden', 'bad_signature', 'unavailable', 'insufficient_storage'],
      security: [{ adminToken: [] }],
    },
    {
      method: 'get',
      path: '/alternative_clouds',
      operationId: 'getAlternativeClouds',
      summary: 'The peer clouds asked before an origin with use_alternative_clouds',
      tags: ['peers'],
      responses: { '200': json(alternativeCloudsSchema, 'Peer base URLs.') },
      errors: TENANT_ERRORS,
      errorHeaders: RETRY_AFTER,
      security: TENANT_SECURITY,
    },
    {
      method: 'post',
      path: '/fire_and_forget',
      operationId: 'submitPrefetchBatch',
      summary: 'Prefetch a batch of URLs into the cache',
      description: 'Validates each URL, drops duplicates (within the batch, already cached, already queued) and queues the rest; prefetches run only when no client is waiting.',
      tags: ['prefetch'],
      requestBody: { description: 'The URLs, as JSON.', contentType: 'application/json', schema: fireAndForgetBodySchema },
      responses: {
        '202': {
          ...json(batchReceiptSchema, 'Accepted: the counts, and the first rejections.'),
          headers: { Location: { description: 'The batch\'s progress: /fire_and_forget/<batchId>.', schema: string } },
        },
      },
      errors: ['bad_parameter', 'payload_too_large', 'unavailable', ...TENANT_ERRORS],
      errorHeaders: RETRY_AFTER,
      security: TENANT_SECURITY,
    },
    {
      method: 'get',
      path: '/fire_and_forget/:batch',
      operationId: 'getPrefetchBatch',
      summary: "A prefetch batch's progress",
      tags: ['prefetch'],
      pathParams: z.object({ batch: batchIdSchema.meta({ description: 'The batchId of the receipt.' }) }),
      responses: { '200': json(batchProgressSchema, 'Counts so far; complete once every accepted URL has ended for good.') },
      errors: ['not_found', 'unavailable', ...TENANT_ERRORS],
      errorHeaders: RETRY_AFTER,
      security: TENANT_SECURITY,
    },
    {
      method: 'get',
      path: '/healthz',
      operationId: 'getLiveness',
      summary: 'Liveness: the process answers',
      tags: ['operations'],
      responses: { '200': json(healthSchema, 'Alive.') },
      errors: [],
      security: [],
    },
    {
      method: 'get',
      path: '/readyz',
      operationId: 'getReadiness',
      summary: 'Readiness: Redis answers too',
      tags: ['operations'],
      responses: { '200': json(readinessSchema, 'Ready for image requests.') },
      errors: ['unavailable'],
      errorHeaders: RETRY_AFTER,
      security: [],
    },
    {
      method: 'get',
      path: '/metrics',
      operationId: 'getMetrics',
      summary: "Prometheus metrics: this server's, and under npm start every process's",
      tags: ['operations'],
      responses: { '200': { description: "Prometheus's text format.", content: { 'text/plain': { type: 'string' } } } },
      errors: [],
      security: [],
    },
    {
      method: 'get',
      path: '/status',
      operationId: 'getStatusPage',
      summary: 'The live status page',
      tags: ['operations'],
      responses: { '200': { description: 'An HTML page polling /metrics.', content: { 'text/html': { type: 'string' } } } },
      errors: [],
      security: [],
    },
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'getOpenApiDocument',
      summary: 'This document',
      tags: ['operations'],
      responses: { '200': { description: 'OpenAPI 3.1.', content: { 'application/json': { type: 'object' } } } },
      errors: [],
      security: [],
    },
  ];
}

const SECURITY_SCHEMES: Record<string, JsonObject> = {
  tenantToken: { type: 'http', scheme: 'bearer', description: "A tenant's token from CONFIG's tenants. Not needed when the cloud runs open (no tenants)." },
  legacyToken: { type: 'apiKey', in: 'query', name: 'token', description: "The existing clients' spelling of a tenant's token." },
  signedUrl: {
    type: 'apiKey',
    in: 'query',
    name: 'signature',
    description: 'HMAC-SHA256 over the path and every parameter (sorted), tenant and expires included, unpadded base64url; made with `image-cloud sign`.',
  },
  adminToken: { type: 'http', scheme: 'bearer', description: "One of CONFIG's adminTokens." },
};

/** The OpenAPI 3.1 document of the image cloud's HTTP API, for clients to be generated from. */
export function imageCloudOpenApiDocument(options: ImageCloudApiOptions): JsonObject {
  return buildOpenApiDocument({
    info: {
      title: 'Image Cloud',
      version: API_VERSION,
      description:
        'Fetches images by their origin URL, caches them, resizes and converts them. Every error is JSON `{"error": "<code>", "message": "<sentence>"}`; ' +
        'a known path asked with another method answers 405 `method_not_allowed` with `Allow`, an unknown path 404 `not_found`.',
    },
    securitySchemes: SECURITY_SCHEMES,
    operations: operations(options),
    errors: ERROR_CODES,
    alwaysPossibleErrors: ['internal_error'],
  });
}
