import type { OutputFormat, Transform } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { withKnownNames } from './parameter-names';
import { type RawQuery, parseQuery } from './query-params';
import { FORMAT_ALIASES, OLD_SPELLINGS, getImageQuerySchema, getThumbnailQuerySchema } from './query-schemas';

/** A `get_image` request in the existing clients' terms, validated. */
export interface GetImageRequest {
  url: string;
  /** null: no transform, the original bytes are answered untouched. */
  transform: Transform | null;
  noImage: boolean;
  onlySendIfLocal: boolean;
  useAlternativeClouds: boolean;
  /** `v`: a version the page changes when it wants other bytes, so the answer may be cached as immutable. */
  version?: string;
}

function versionOf(v: string | undefined): { version?: string } {
  return v ? { version: v } : {};
}

/**
 * Parses `get_image` parameters with the names and defaults the existing clients use:
 * keep_aspect_ratio=true, force_to_size=false, format_when_resize=jpeg, the rest false.
 */
export function parseGetImageRequest(rawQuery: RawQuery): GetImageRequest {
  const query = withKnownNames(rawQuery, Object.keys(getImageQuerySchema.shape), OLD_SPELLINGS);
  const params = parseQuery(getImageQuerySchema, query);
  const { resize_width: width, resize_height: height } = params;
  const request = {
    url: params.url,
    noImage: params.no_image,
    onlySendIfLocal: params.only_send_if_local,
    useAlternativeClouds: params.use_alternative_clouds,
    ...versionOf(params.v),
  };

  if (width === undefined && height === undefined) {
    if (params.force_to_size) {
      throw new ImageCloudError('bad_parameter', 'Parameter "force_to_size" needs both resize_width and resize_height.');
    }
    return { ...request, transform: null };
  }
  if (params.force_to_size && (width === undefined || height === undefined)) {
    throw new ImageCloudError('bad_parameter', 'Parameter "force_to_size" needs both resize_width and resize_height.');
  }
  const fit = params.force_to_size ? 'pad' : params.keep_aspect_ratio ? 'inside' : 'fill';
  const format = (FORMAT_ALIASES[params.format_when_resize] ?? params.format_when_resize) as OutputFormat;
  return {
    ...request,
    transform: { ...(width === undefined ? {} : { width }), ...(height === undefined ? {} : { height }), fit, format },
  };
}

/** `get_thumbnail?url=&size=`: a square box of one of the configured sizes, as JPEG. */
export function parseGetThumbnailRequest(rawQuery: RawQuery, thumbnailSizes: readonly number[]): GetImageRequest {
  const schema = getThumbnailQuerySchema(thumbnailSizes);
  const params = parseQuery(schema, withKnownNames(rawQuery, Object.keys(schema.shape), OLD_SPELLINGS));
  return {
    url: params.url,
    transform: { width: params.size, height: params.size, fit: 'inside', format: 'jpeg' },
    noImage: false,
    onlySendIfLocal: params.only_send_if_local,
    useAlternativeClouds: params.use_alternative_clouds,
    ...versionOf(params.v),
  };
}
