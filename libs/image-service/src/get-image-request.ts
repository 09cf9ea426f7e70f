import { MAX_DIMENSION, OUTPUT_FORMATS, type OutputFormat, type Transform } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { withKnownNames } from './parameter-names';
import { type RawQuery, booleanParam, integerParam, stringParam, urlParam } from './query-params';

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

const FORMAT_ALIASES: Record<string, OutputFormat> = { jpg: 'jpeg', tif: 'tiff' };

const GET_IMAGE_PARAMS = [
  'url',
  'resize_width',
  'resize_height',
  'keep_aspect_ratio',
  'force_to_size',
  'format_when_resize',
  'no_image',
  'use_alternative_clouds',
  'only_send_if_local',
  'v',
];
const GET_THUMBNAIL_PARAMS = ['url', 'size', 'use_alternative_clouds', 'only_send_if_local', 'v'];
/** Spellings of the old documentation that existing clients send. */
const OLD_SPELLINGS = { use_alternativ_clouds: 'use_alternative_clouds' };

function formatParam(query: RawQuery): OutputFormat {
  const value = stringParam(query, 'format_when_resize');
  if (value === undefined || value === '') return 'jpeg';
  const lower = value.toLowerCase();
  const format = FORMAT_ALIASES[lower] ?? lower;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new ImageCloudError(
      'bad_parameter',
      `Parameter "format_when_resize" must be one of ${OUTPUT_FORMATS.join(', ')}, but received ${JSON.stringify(value.slice(0, 40))}.`,
    );
  }
  return format as OutputFormat;
}

function versionParam(query: RawQuery): { version?: string } {
  const version = stringParam(query, 'v');
  return version ? { version } : {};
}

/**
 * Parses `get_image` parameters with the names and defaults the existing clients use:
 * keep_aspect_ratio=true, force_to_size=false, format_when_resize=jpeg, the rest false.
 */
export function parseGetImageRequest(rawQuery: RawQuery): GetImageRequest {
  const query = withKnownNames(rawQuery, GET_IMAGE_PARAMS, OLD_SPELLINGS);
  const url = urlParam(query);
  const width = integerParam(query, 'resize_width', 1, MAX_DIMENSION);
  const height = integerParam(query, 'resize_height', 1, MAX_DIMENSION);
  const keepAspectRatio = booleanParam(query, 'keep_aspect_ratio', true);
  const forceToSize = booleanParam(query, 'force_to_size', false);
  const format = formatParam(query);
  const request = {
    url,
    noImage: booleanParam(query, 'no_image', false),
    onlySendIfLocal: booleanParam(query, 'only_send_if_local', false),
    useAlternativeClouds: booleanParam(query, 'use_alternative_clouds', false),
    ...versionParam(query),
  };

  if (width === undefined && height === undefined) {
    if (forceToSize) {
      throw new ImageCloudError('bad_parameter', 'Parameter "force_to_size" needs both resize_width and resize_height.');
    }
    return { ...request, transform: null };
  }
  if (forceToSize && (width === undefined || height === undefined)) {
    throw new ImageCloudError('bad_parameter', 'Parameter "force_to_size" needs both resize_width and resize_height.');
  }
  const fit = forceToSize ? 'pad' : keepAspectRatio ? 'inside' : 'fill';
  return {
    ...request,
    transform: { ...(width === undefined ? {} : { width }), ...(height === undefined ? {} : { height }), fit, format },
  };
}

/** `get_thumbnail?url=&size=`: a square box of one of the configured sizes, as JPEG. */
export function parseGetThumbnailRequest(rawQuery: RawQuery, thumbnailSizes: readonly number[]): GetImageRequest {
  const query = withKnownNames(rawQuery, GET_THUMBNAIL_PARAMS, OLD_SPELLINGS);
  const url = urlParam(query);
  const size = integerParam(query, 'size', 1, MAX_DIMENSION);
  if (size === undefined) {
    throw new ImageCloudError('bad_parameter', `Parameter "size" is required: one of ${thumbnailSizes.join(', ')}.`);
  }
  if (!thumbnailSizes.includes(size)) {
    throw new ImageCloudError('bad_parameter', `Parameter "size" must be one of ${thumbnailSizes.join(', ')}, but received ${size}.`);
  }
  return {
    url,
    transform: { width: size, height: size, fit: 'inside', format: 'jpeg' },
    noImage: false,
    onlySendIfLocal: booleanParam(query, 'only_send_if_local', false),
    useAlternativeClouds: booleanParam(query, 'use_alternative_clouds', false),
    ...versionParam(query),
  };
}
