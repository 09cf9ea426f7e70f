import { MAX_DIMENSION, type OutputFormat, type Transform } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { withKnownNames } from './parameter-names';
import { type RawQuery, parseQuery } from './query-params';
import { FORMAT_ALIASES, NEGOTIATED_FORMAT, OLD_SPELLINGS, getImageQuerySchema, getThumbnailQuerySchema } from './query-schemas';

/** A `get_image` request in the existing clients' terms, validated. */
export interface GetImageRequest {
  url: string;
  /**
   * null: no transform, the original bytes are answered untouched. With `negotiateFormat` its
   * format is only the fallback: the format is picked from the Accept header (see negotiateFormat).
   * Its quality is as asked; withEffectiveQuality drops one that changes nothing.
   */
  transform: Transform | null;
  /** format_when_resize=auto (or a signed URL without a format when so configured). */
  negotiateFormat: boolean;
  noImage: boolean;
  onlySendIfLocal: boolean;
  useAlternativeClouds: boolean;
  /** `v`: a version the page changes when it wants other bytes, so the answer may be cached as immutable. */
  version?: string;
}

export interface RequestDefaults {
  /** Format when the request names none: jpeg, or auto for a signed URL when server.signedUrlFormat says so. */
  format: 'jpeg' | 'auto';
}

const PLAIN_DEFAULTS: RequestDefaults = { format: 'jpeg' };

function versionOf(v: string | undefined): { version?: string } {
  return v ? { version: v } : {};
}

/** A side of the box times the device pixel ratio; a box over the largest side is refused naming dpr. */
function scaled(side: number | undefined, dpr: number | undefined): number | undefined {
  if (side === undefined || dpr === undefined || dpr === 1) return side;
  const result = Math.round(side * dpr);
  if (result > MAX_DIMENSION) {
    throw new ImageCloudError('bad_parameter', `Parameter "dpr" makes a side of ${side} × ${dpr} = ${result} pixels, over the largest side of ${MAX_DIMENSION}.`);
  }
  return result;
}

/**
 * Parses `get_image` parameters with the names and defaults the existing clients use:
 * keep_aspect_ratio=true, force_to_size=false, format_when_resize=jpeg, the rest false.
 */
export function parseGetImageRequest(rawQuery: RawQuery, defaults: RequestDefaults = PLAIN_DEFAULTS): GetImageRequest {
  const query = withKnownNames(rawQuery, Object.keys(getImageQuerySchema.shape), OLD_SPELLINGS);
  const params = parseQuery(getImageQuerySchema, query);
  const request = {
    url: params.url,
    noImage: params.no_image,
    onlySendIfLocal: params.only_send_if_local,
    useAlternativeClouds: params.use_alternative_clouds,
    ...versionOf(params.v),
  };

  if (params.resize_width === undefined && params.resize_height === undefined) {
    if (params.force_to_size) {
      throw new ImageCloudError('bad_parameter', 'Parameter "force_to_size" needs both resize_width and resize_height.');
    }
    return { ...request, transform: null, negotiateFormat: false };
  }
  if (params.force_to_size && (params.resize_width === undefined || params.resize_height === undefined)) {
    throw new ImageCloudError('bad_parameter', 'Parameter "force_to_size" needs both resize_width and resize_height.');
  }
  const width = scaled(params.resize_width, params.dpr);
  const height = scaled(params.resize_height, params.dpr);
  // force_to_size wins over keep_aspect_ratio=false: both ask for exactly the box, and
  // force_to_size says how (fitted and centred on white), so the image is never distorted.
  const fit = params.force_to_size ? 'pad' : params.keep_aspect_ratio ? 'inside' : 'fill';
  const named = params.format_when_resize ?? defaults.format;
  const negotiateFormat = named === NEGOTIATED_FORMAT;
  const format = negotiateFormat ? 'jpeg' : ((FORMAT_ALIASES[named] ?? named) as OutputFormat);
  return {
    ...request,
    negotiateFormat,
    transform: {
      ...(width === undefined ? {} : { width }),
      ...(height === undefined ? {} : { height }),
      fit,
      format,
      ...(params.quality === undefined ? {} : { quality: params.quality }),
    },
  };
}

/** `get_thumbnail?url=&size=`: a square box of one of the configured sizes, as JPEG (negotiated for signed URLs when so configured). */
export function parseGetThumbnailRequest(rawQuery: RawQuery, thumbnailSizes: readonly number[], defaults: RequestDefaults = PLAIN_DEFAULTS): GetImageRequest {
  const schema = getThumbnailQuerySchema(thumbnailSizes);
  const params = parseQuery(schema, withKnownNames(rawQuery, Object.keys(schema.shape), OLD_SPELLINGS));
  return {
    url: params.url,
    transform: { width: params.size, height: params.size, fit: 'inside', format: 'jpeg' },
    negotiateFormat: defaults.format === NEGOTIATED_FORMAT,
    noImage: false,
    onlySendIfLocal: params.only_send_if_local,
    useAlternativeClouds: params.use_alternative_clouds,
    ...versionOf(params.v),
  };
}
